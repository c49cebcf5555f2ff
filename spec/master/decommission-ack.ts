/**
 * POST /api/v2/agents/{agent_id}/decommission/{operation_id}/ack as the master answers it: its checks in the
 * master's order, the idempotent repeat of an acknowledged command id (even after the record is gone), and each
 * phase's effects.
 */
import { bearerToken } from './auth.js';
import type { DecommissionOperation, Decommissions } from './decommission-ops.js';
import { keyMismatch, tooLarge, unauthorized, v2Error, v2Reply } from './replies.js';
import { isRecord, type RequestContext } from './request.js';
import type { MasterState } from './state.js';
import type { Reply } from './types.js';

const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,254}$/;
const PREPARE_FROM = new Set(['waiting_for_prepare', 'prepare_failed', 'timed_out']);
const FINALIZE_FROM = new Set(['waiting_for_finalize', 'finalize_failed', 'timed_out']);

const acknowledged = (d: Decommissions, op: DecommissionOperation): Reply =>
  v2Reply(200, 'acknowledged', { operation: d.view(op) });

export function handleAck(
  state: MasterState,
  d: Decommissions,
  ctx: RequestContext,
  agentId: string,
  operationId: string,
  oversize: boolean,
): Reply {
  const token = bearerToken(ctx.headers);
  if (token === undefined) return unauthorized('v2');
  if (oversize) return tooLarge('v2', 'Request body too large.');
  if (!ctx.parsed.ok || !isRecord(ctx.parsed.value)) return v2Error(400, 'invalid_payload', 'Invalid JSON payload.');
  const body = ctx.parsed.value;
  const key = state.keys.get(token);
  if (!key) return unauthorized('v2');
  const commandId = typeof body.command_id === 'string' ? body.command_id.trim() : '';
  const agent = state.records.get(agentId);
  d.expire();
  if (!agent) {
    // A lost final reply may be asked again after the record and the key are gone.
    const op = d.operations.get(operationId);
    const repeat =
      op !== undefined &&
      op.agentId === agentId &&
      (op.state === 'completed' || op.state === 'forced_completed') &&
      key.boundAgentId === agentId &&
      key.status === 'revoked' &&
      op.acknowledged.has(commandId);
    return repeat ? acknowledged(d, op) : keyMismatch('v2');
  }
  if (key.status !== 'active' || key.boundAgentId !== agentId || agent.key !== key.key) return keyMismatch('v2');
  if (agent.protocolVersion === 2 && (agent.sessionId === null || body.agent_session_id !== agent.sessionId))
    return v2Error(409, 'registration_required', 'Unknown or expired agent session; register again.');
  const op = d.operations.get(operationId);
  if (!op) return v2Error(404, 'operation_not_found', 'Decommission operation not found.');
  if (op.agentId !== agentId) return v2Error(403, 'operation_agent_mismatch', 'Operation belongs to another agent.');
  if (commandId === '') return v2Error(400, 'invalid_payload', 'command_id is required.');
  if (op.acknowledged.has(commandId)) return acknowledged(d, op);
  if (body.operation_id !== operationId) return v2Error(409, 'stale_operation', 'operation_id does not match.');
  if (op.command === null || op.command.command_id !== commandId)
    return v2Error(409, 'stale_command', 'command_id is not the outstanding command.');
  const phase = body.phase;
  if (phase !== 'prepared' && phase !== 'shutdown_scheduled')
    return v2Error(400, 'invalid_ack_phase', 'phase must be prepared or shutdown_scheduled.');
  const expected = op.command.action === 'prepare_decommission' ? 'prepared' : 'shutdown_scheduled';
  const from = phase === 'prepared' ? PREPARE_FROM : FINALIZE_FROM;
  if (phase !== expected || !from.has(op.state))
    return v2Error(409, 'invalid_operation_state', `Operation is ${op.state}.`);
  op.acks.push({ ...body });
  return phase === 'prepared' ? prepared(d, op, body, commandId) : finalized(d, op, body, commandId);
}

function prepared(d: Decommissions, op: DecommissionOperation, body: Record<string, unknown>, id: string): Reply {
  const supported = body.self_stop_capability === 'supported';
  for (const [field, required] of [
    ['cloudflared_image', true],
    ['agent_image', supported],
  ] as const) {
    const v = body[field];
    if (!required && (v === undefined || v === null)) continue;
    if (typeof v !== 'string' || !IMAGE_REF.test(v.trim()))
      return v2Error(400, 'invalid_image_reference', `${field} is not an image reference.`);
  }
  const ok =
    body.tombstone_persisted === true && (body.tunnel_container === 'stopped' || body.tunnel_container === 'absent');
  if (!ok) {
    const code =
      typeof body.error_code === 'string' && body.error_code !== '' ? body.error_code.slice(0, 64) : 'prepare_failed';
    op.state = 'prepare_failed';
    op.lastErrorCode = code;
    return v2Error(409, code, 'The agent reported a failed prepare.');
  }
  op.acknowledged.set(id, 'prepared');
  op.state = 'master_cleanup';
  const failure = d.cleanup(op);
  return failure === null ? acknowledged(d, op) : v2Error(409, failure, 'Master cleanup failed.');
}

function finalized(d: Decommissions, op: DecommissionOperation, body: Record<string, unknown>, id: string): Reply {
  op.agentContainer = body.self_stop_capability === 'supported' ? 'stop_scheduled' : 'manual_required';
  op.state = 'shutdown_scheduled';
  const failure = d.finish(op);
  if (failure !== null) return v2Error(409, failure, 'Key revocation failed.');
  op.acknowledged.set(id, 'shutdown_scheduled');
  return acknowledged(d, op);
}
