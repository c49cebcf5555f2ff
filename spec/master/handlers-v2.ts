/**
 * Registration on a v2 master: identity comes from the key binding, never from the caller, and the offered
 * protocol versions decide between a session (2) and the legacy semantics (1).
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext } from './request.js';
import type { MasterState, StoredAgent } from './state.js';
import type { Reply } from './types.js';
import { authenticateAgent } from './auth.js';
import { invalidPayload, keyMismatch, v2Error, v2Reply } from './replies.js';
import { objectBody } from './request.js';
import { nonEmptyString, opaqueToken } from './state.js';

const MASTER_VERSIONS = [2, 1] as const;

export function registerV2(state: MasterState, ctx: RequestContext): Reply {
  const auth = authenticateAgent(state, 'v2', ctx);
  if (!auth.ok) return auth.reply;
  const parsed = objectBody('v2', ctx);
  if (!parsed.ok) return parsed.reply;
  const body = parsed.body;

  const negotiated = negotiate(body.supported_protocol_versions);
  if (typeof negotiated !== 'number') return negotiated;
  if (body.agent_id !== undefined && body.agent_id !== null && typeof body.agent_id !== 'string') {
    return invalidPayload('v2', 'agent_id must be a string.');
  }
  const proposed = nonEmptyString(body.agent_id);

  const key = auth.key;
  let agent: StoredAgent | undefined;
  let created = false;
  if (key.boundAgentId !== null) {
    if (proposed !== undefined && proposed !== key.boundAgentId) return { ...keyMismatch('v2'), agentId: proposed };
    agent = state.records.get(key.boundAgentId);
    // Bound to a removed record: the key cannot mint a new identity (docs/protocol.md §10, agent removal).
    if (!agent) return { ...keyMismatch('v2'), agentId: key.boundAgentId };
  } else {
    // A proposed id is ignored for an unbound key: the agent gets a new one.
    agent = state.createAgent(randomUUID());
    key.boundAgentId = agent.agentId;
    created = true;
  }
  agent.key = key.key;
  agent.protocolVersion = negotiated;
  agent.sessionId = negotiated === 2 ? opaqueToken() : null;
  agent.lastEventSequence = 0;
  agent.lastReportSequence = 0;
  state.refreshFromRegistration(agent, body);
  return {
    ...v2Reply(created ? 201 : 200, 'registered', {
      agent_id: agent.agentId,
      protocol_version: negotiated,
      agent_session_id: agent.sessionId,
    }),
    agentId: agent.agentId,
  };
}

/**
 * Absent (or null) → 1, the legacy semantics. Otherwise a non-empty array of integers ≥ 1 (JSON booleans are not
 * numbers here, so they fail too), and the highest version both sides know.
 */
function negotiate(offered: unknown): 1 | 2 | Reply {
  if (offered === undefined || offered === null) return 1;
  if (
    !Array.isArray(offered) ||
    offered.length === 0 ||
    !offered.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1)
  ) {
    return invalidPayload('v2', 'supported_protocol_versions must be a non-empty array of integers >= 1.');
  }
  const common = MASTER_VERSIONS.find((v) => offered.includes(v));
  return common ?? v2Error(409, 'unsupported_protocol', 'No protocol version in common (master supports 1, 2).');
}
