/**
 * The master's admin routes used for scenario setup (docs/protocol.md §10), guarded by the master key. They call the
 * same MasterState methods as the in-process hooks. The agent list never carries keys or tunnel tokens.
 */
import type { RequestContext } from './request.js';
import type { AdminAction, Route } from './routes.js';
import type { MasterMode } from './types.js';
import type { MasterState, StoredAgent } from './state.js';
import type { Reply } from './types.js';
import { isMasterKey } from './auth.js';
import { v1Error, v2Error, v2Reply } from './replies.js';
import { isRecord } from './request.js';
import { nonEmptyString } from './state.js';

/** How long after last_seen an agent still counts as online (the master's AGENT_HEARTBEAT_TIMEOUT default). */
const ONLINE_WINDOW_MS = 60_000;

export function handleAdmin(
  state: MasterState,
  mode: MasterMode,
  masterKey: string,
  ctx: RequestContext,
  route: Route,
): Reply {
  const action = route.action ?? 'list';
  const agentId = route.agentId;
  if (!isMasterKey(ctx, masterKey)) return v1Error(401, 'unauthorized');
  // Admin bodies are optional (redeploy, roll-key, remove send none); if present they must be a JSON object.
  let body: Record<string, unknown> = {};
  if (ctx.rawBody.trim() !== '') {
    if (!ctx.parsed.ok || !isRecord(ctx.parsed.value)) return v1Error(400, 'Invalid JSON payload.');
    body = ctx.parsed.value;
  }
  switch (action) {
    case 'generate-key': {
      if (body.owner !== undefined && body.owner !== null && typeof body.owner !== 'string')
        return v1Error(400, 'owner must be a string.');
      const key = state.generateKey(nonEmptyString(body.owner));
      return { status: 201, body: { status: 'success', key, meta: keyMeta(state, key) } };
    }
    case 'revoke-key': {
      const key = nonEmptyString(body.key);
      if (key === undefined) return v1Error(400, 'key is required.');
      if (!state.keys.has(key)) return v1Error(404, 'Key not found.');
      state.revokeKey(key);
      return { status: 200, body: { status: 'success', meta: keyMeta(state, key) } };
    }
    case 'list':
      return { status: 200, body: { status: 'success', agents: [...state.records.values()].map(listView) } };
    case 'operation':
    case 'operation-retry':
    case 'operation-force':
      return operationAction(state, mode, action, route.operationId ?? '');
    case 'decommission':
    case 'enroll':
    case 'redeploy-tunnel':
    case 'roll-key':
    case 'rename':
    case 'remove':
      return agentAction(state, mode, action, agentId ?? '', body);
  }
}

function agentAction(
  state: MasterState,
  mode: MasterMode,
  action: AdminAction,
  agentId: string,
  body: Record<string, unknown>,
): Reply {
  const agent = state.records.get(agentId);
  // v3.1.4 line (our v2 mode): `remove` is an alias that starts a decommission; v3.1.2 deletes at once.
  const decommissioning = mode === 'v2' && (action === 'decommission' || action === 'remove');
  if (!agent)
    return decommissioning ? v2Error(404, 'agent_not_found', 'Agent not found.') : v1Error(404, 'Agent not found.');
  if (decommissioning) {
    const { op } = state.decommissions.start(agent);
    const view = state.decommissions.view(op);
    const statusUrl = `/api/v2/agent-decommissions/${op.operationId}`;
    return v2Reply(202, 'accepted', { operation_id: op.operationId, operation: view, status_url: statusUrl });
  }
  // While an operation runs, changes to the agent are refused (409, no code).
  if (mode === 'v2' && state.decommissions.active(agent) !== undefined)
    return v1Error(409, 'Agent is being decommissioned.');
  switch (action) {
    case 'enroll': {
      const tunnelName = nonEmptyString(body.tunnel_name);
      if (tunnelName === undefined) return v1Error(400, 'tunnel_name is required.');
      const { tunnelId } = state.enroll(agentId, tunnelName);
      return {
        status: 200,
        body: { status: 'success', agent_id: agentId, tunnel_name: tunnelName, tunnel_id: tunnelId },
      };
    }
    case 'redeploy-tunnel':
      if (!state.canRedeploy(agent)) return v1Error(409, 'Agent is not enrolled or has no assigned tunnel.');
      state.redeploy(agentId);
      return { status: 200, body: { status: 'success', agent_id: agentId } };
    case 'roll-key':
      return { status: 200, body: { status: 'success', agent_id: agentId, key: state.rollKey(agentId) } };
    case 'rename': {
      const name = nonEmptyString(body.display_name);
      if (name === undefined) return v1Error(400, 'display_name is required.');
      state.rename(agentId, name);
      return { status: 200, body: { status: 'success', agent_id: agentId, display_name: name } };
    }
    case 'remove':
      state.removeAgent(agentId);
      return { status: 200, body: { status: 'success', agent_id: agentId } };
    case 'decommission':
    case 'generate-key':
    case 'revoke-key':
    case 'list':
    case 'operation':
    case 'operation-retry':
    case 'operation-force':
      return v1Error(404, 'Not found.');
  }
}

function operationAction(state: MasterState, mode: MasterMode, action: AdminAction, operationId: string): Reply {
  const d = state.decommissions;
  const op = mode === 'v2' ? d.operations.get(operationId) : undefined;
  if (!op) return v2Error(404, 'operation_not_found', 'Decommission operation not found.');
  if (action === 'operation') return v2Reply(200, 'ok', { operation: d.view(op) });
  const done = action === 'operation-retry' ? d.retry(operationId) : d.force(operationId);
  if (!done.ok) return v2Error(done.status, done.code, `Operation is ${op.state}.`);
  return v2Reply(action === 'operation-retry' ? 202 : 200, 'accepted', { operation: d.view(op) });
}

function keyMeta(state: MasterState, key: string): Record<string, unknown> {
  const rec = state.keys.get(key)!;
  return {
    owner: rec.owner,
    status: rec.status,
    agent_id: rec.boundAgentId,
    created_at: new Date(rec.createdAt).toISOString(),
  };
}

function listView(agent: StoredAgent): Record<string, unknown> {
  const now = Date.now();
  return {
    agent_id: agent.agentId,
    display_name: agent.displayName,
    version: agent.version,
    status: agent.status,
    protocol_version: agent.protocolVersion,
    last_seen: agent.lastSeen === null ? null : new Date(agent.lastSeen).toISOString(),
    online: agent.lastSeen !== null && now - agent.lastSeen <= ONLINE_WINDOW_MS,
    assigned_tunnel_name: agent.tunnel?.name ?? null,
    assigned_tunnel_id: agent.tunnel?.id ?? null,
    tunnel_status: agent.tunnelStatus,
    pending_commands: agent.commands.length,
    containers: [...agent.containers].map(([id, c]) => ({ id, name: c.name, state: c.state })),
  };
}
