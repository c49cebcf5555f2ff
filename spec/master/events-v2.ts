/**
 * Events on a v2 master: session and sequence checks, a closed set of types, strict container objects, and
 * deletions only from a complete, scoped inventory. An agent that negotiated protocol 1 here gets the legacy path:
 * no session or sequence, and its reports never delete.
 */
import type { RequestContext } from './request.js';
import type { MasterState } from './state.js';
import type { AgentRecord, Reply } from './types.js';
import { authenticateAgent, keyFitsAgent } from './auth.js';
import {
  applyTunnelStatus,
  isEnabled,
  markUnreported,
  parseContainerV2,
  stopContainer,
  upsertContainer,
  type ContainerInfo,
} from './containers.js';
import { invalidPayload, keyMismatch, tooLarge, v2Error, v2Reply } from './replies.js';
import { isRecord, objectBody } from './request.js';

const TYPES = new Set(['heartbeat', 'hello', 'status_report', 'container_start', 'container_stop', 'tunnel_status']);
const MAX_SEQUENCE = 2 ** 63 - 1;
const COMPLETE_SCOPE = 'dockflare_enabled_running';

export function eventsV2(state: MasterState, ctx: RequestContext, agentId: string, maxContainers: number): Reply {
  const auth = authenticateAgent(state, 'v2', ctx);
  if (!auth.ok) return auth.reply;
  const parsed = objectBody('v2', ctx);
  if (!parsed.ok) return parsed.reply;
  const body = parsed.body;
  // Unknown agent → 403, not 404: that is how a v2 agent learns it was removed (docs/protocol.md §10).
  const agent = state.records.get(agentId);
  if (!agent || !keyFitsAgent('v2', auth.key, agentId, agent.key)) return keyMismatch('v2');
  if (state.decommissions.active(agent) !== undefined)
    return v2Error(409, 'agent_decommissioning', 'Agent is being decommissioned; events are not accepted.');

  const legacy = agent.protocolVersion === 1 && !('protocol_version' in body) && !('agent_session_id' in body);
  if (
    !legacy &&
    (agent.sessionId === null || body.agent_session_id !== agent.sessionId || body.protocol_version !== 2)
  ) {
    return v2Error(409, 'registration_required', 'Unknown or expired agent session; register again.');
  }
  const type = body.type;
  if (typeof type !== 'string' || !TYPES.has(type))
    return invalidPayload('v2', `Unsupported event type: ${JSON.stringify(type) ?? 'none'}.`);

  const field = type === 'status_report' ? 'report_sequence' : 'event_sequence';
  let sequence = 0;
  if (!legacy) {
    const value = body[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_SEQUENCE) {
      return invalidPayload('v2', `${field} must be an integer in 1..2^63-1.`);
    }
    sequence = value;
    const last = field === 'report_sequence' ? agent.lastReportSequence : agent.lastEventSequence;
    if (sequence === last) {
      // A retry after a lost reply: counted as delivered, applied once.
      agent.lastSeen = Date.now();
      return v2Reply(200, 'duplicate_sequence');
    }
    if (sequence < last)
      return v2Error(409, 'stale_sequence', `${field} ${sequence} is below the last accepted ${last}.`);
  }

  const reply = applyEvent(agent, type, body, legacy, maxContainers);
  if (reply.status >= 300) return reply;
  if (!legacy && field === 'report_sequence') agent.lastReportSequence = sequence;
  if (!legacy && field === 'event_sequence') agent.lastEventSequence = sequence;
  state.accept(agent, body);
  return reply;
}

/** Validates fully before changing anything, so a 4xx leaves the record as it was. */
function applyEvent(
  agent: AgentRecord,
  type: string,
  body: Record<string, unknown>,
  legacy: boolean,
  maxContainers: number,
): Reply {
  switch (type) {
    case 'heartbeat':
    case 'hello':
      return v2Reply(202, 'accepted_noop');
    case 'container_start':
    case 'container_stop': {
      const c = parseContainerV2(body.container);
      if (!c.ok) return invalidPayload('v2', c.reason);
      if (type === 'container_stop') {
        stopContainer(agent, c.container.id);
      } else {
        if (!isEnabled(c.container.labels))
          return invalidPayload('v2', 'container_start without a truthy enable label.');
        upsertContainer(agent, c.container);
      }
      return v2Reply(200, 'accepted');
    }
    case 'tunnel_status':
      applyTunnelStatus(agent, body);
      return v2Reply(200, 'accepted');
    case 'status_report':
      return applyReport(agent, body, legacy, maxContainers);
    default:
      return invalidPayload('v2', `Unsupported event type: ${type}.`);
  }
}

function applyReport(agent: AgentRecord, body: Record<string, unknown>, legacy: boolean, maxContainers: number): Reply {
  // A v1-style report (list under `container`) is accepted but can never be complete.
  const nested = isRecord(body.container) ? body.container.containers : undefined;
  const list: unknown = body.containers ?? nested;
  if (Array.isArray(list) && list.length > maxContainers) {
    return tooLarge('v2', `status_report lists ${list.length} containers; the limit is ${maxContainers}.`);
  }
  const entries: ContainerInfo[] = [];
  let wellFormed = Array.isArray(body.containers);
  for (const item of Array.isArray(list) ? list : []) {
    const c = parseContainerV2(item, true);
    if (c.ok) entries.push(c.container);
    else wellFormed = false;
  }
  const complete = !legacy && wellFormed && body.inventory_complete === true && body.inventory_scope === COMPLETE_SCOPE;
  const reported = new Set<string>();
  for (const c of entries) {
    // A listed container without a truthy enable label is not managed: it derives no rules and keeps none.
    if (!isEnabled(c.labels)) continue;
    upsertContainer(agent, c);
    reported.add(c.id);
  }
  if (!complete) return v2Reply(202, 'inventory_incomplete');
  markUnreported(agent, reported);
  return v2Reply(200, 'accepted');
}
