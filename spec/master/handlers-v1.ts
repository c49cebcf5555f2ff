/**
 * A v1 master (stable DockFlare up to v3.1.x): no sessions, sequences or codes. It trusts a proposed agent_id,
 * answers 202 to any non-empty event, and treats every status report as the complete truth.
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext } from './request.js';
import type { MasterState, StoredAgent } from './state.js';
import type { AgentRecord, Reply } from './types.js';
import { authenticateAgent, keyFitsAgent } from './auth.js';
import {
  applyTunnelStatus,
  markUnreported,
  parseContainerV1,
  stopContainer,
  upsertContainer,
  isEnabled,
} from './containers.js';
import { agentNotFound, keyMismatch, v1Error } from './replies.js';
import { isRecord, objectBody } from './request.js';
import { nonEmptyString } from './state.js';

export function registerV1(state: MasterState, ctx: RequestContext): Reply {
  const auth = authenticateAgent(state, 'v1', ctx);
  if (!auth.ok) return auth.reply;
  const parsed = objectBody('v1', ctx);
  if (!parsed.ok) return parsed.reply;
  const body = parsed.body;
  const proposed = nonEmptyString(body.agent_id);
  let agent = proposed === undefined ? undefined : state.records.get(proposed);
  const created = agent === undefined;
  if (agent && !keyFitsAgent('v1', auth.key, agent.agentId, agent.key))
    return { ...keyMismatch('v1'), agentId: agent.agentId };
  agent ??= state.createAgent(proposed ?? randomUUID());
  agent.key = auth.key.key;
  auth.key.boundAgentId = agent.agentId;
  agent.protocolVersion = 1;
  agent.sessionId = null;
  state.refreshFromRegistration(agent, body);
  return {
    status: created ? 201 : 200,
    body: { status: 'success', agent_id: agent.agentId, agent: v1AgentView(agent) },
    agentId: agent.agentId,
  };
}

/** The whole record, secrets included: v1 masters really echo the key and the tunnel token here. */
export function v1AgentView(agent: StoredAgent): Record<string, unknown> {
  return {
    id: agent.agentId,
    display_name: agent.displayName,
    version: agent.version,
    status: agent.status,
    api_key: agent.key,
    registered_at: new Date(agent.registeredAt).toISOString(),
    last_seen: agent.lastSeen === null ? null : new Date(agent.lastSeen).toISOString(),
    assigned_tunnel_name: agent.tunnel?.name ?? null,
    assigned_tunnel_id: agent.tunnel?.id ?? null,
    assigned_tunnel_token: agent.tunnel?.token ?? null,
    commands: agent.commands,
    tunnel_status: agent.tunnelStatus,
  };
}

export function eventsV1(state: MasterState, ctx: RequestContext, agentId: string): Reply {
  const auth = authenticateAgent(state, 'v1', ctx);
  if (!auth.ok) return auth.reply;
  const agent = state.records.get(agentId);
  if (!agent) return agentNotFound();
  if (!keyFitsAgent('v1', auth.key, agentId, agent.key)) return keyMismatch('v1');
  const parsed = objectBody('v1', ctx);
  if (!parsed.ok) return parsed.reply;
  if (Object.keys(parsed.body).length === 0) return v1Error(400, 'Empty payload.');
  applyEventV1(agent, parsed.body);
  state.accept(agent, parsed.body);
  return { status: 202, body: { status: 'success', message: 'Event received and processed.' } };
}

/** Unknown types (container_die included) are stored as last_event and otherwise ignored. */
function applyEventV1(agent: AgentRecord, body: Record<string, unknown>): void {
  switch (body.type) {
    case 'container_start': {
      const c = parseContainerV1(body.container);
      if (c) upsertContainer(agent, c);
      return;
    }
    case 'container_stop': {
      const c = parseContainerV1(body.container);
      if (c) stopContainer(agent, c.id);
      return;
    }
    case 'status_report': {
      // A missing or empty list is still "the truth": everything unreported goes (why the agent must skip bad scans).
      const list =
        isRecord(body.container) && Array.isArray(body.container.containers) ? body.container.containers : [];
      const reported = new Set<string>();
      for (const entry of list) {
        const c = parseContainerV1(entry);
        if (!c || !isEnabled(c.labels)) continue;
        upsertContainer(agent, c);
        reported.add(c.id);
      }
      markUnreported(agent, reported);
      return;
    }
    case 'tunnel_status':
      applyTunnelStatus(agent, body);
      return;
    default:
      return;
  }
}
