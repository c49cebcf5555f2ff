/**
 * Decoding of master replies and commands from `unknown` (docs/architecture.md §4.3). A reply that does not decode is a
 * named failure with a readable reason, never a cast. Unknown keys are ignored: masters add fields.
 */
import * as v from 'valibot';
import { type Decoded, decodeWith, jsonLooseObject, jsonObject } from '../domain/decoded.js';
import { agentIdProblem, type RegisterReply } from '../domain/identity.js';
import type { MasterCommand } from '../domain/commands.js';

const nonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1));

const RegisterReplySchema = jsonObject({
  agent_id: nonEmpty,
  protocol_version: v.nullish(v.picklist([1, 2])),
  agent_session_id: v.nullish(v.string()),
  agent: v.optional(jsonLooseObject({ status: v.optional(v.string()) })),
  status: v.optional(v.string()),
});

export function decodeRegisterReply(body: unknown): Decoded<RegisterReply> {
  const parsed = decodeWith(RegisterReplySchema, body);
  if (!parsed.ok) return parsed;
  const r = parsed.value;
  const version = r.protocol_version ?? 1;
  const session = r.agent_session_id ?? null;
  if (version === 2 && (session === null || session.trim() === ''))
    return { ok: false, reason: 'protocol 2 without agent_session_id' };
  // Refused here, not after it was stored: the next start would find it unreadable and make a new identity.
  const idProblem = agentIdProblem(r.agent_id.trim());
  if (idProblem !== null) return { ok: false, reason: `agent_id: ${idProblem}` };
  return {
    ok: true,
    value: {
      agentId: r.agent_id.trim(),
      protocolVersion: version,
      sessionId: version === 2 ? session : null,
      enrollment: r.agent?.status ?? null,
    },
  };
}

/** `commands` missing or not an array is treated as empty (docs/protocol.md §4), but reported. */
export function decodeCommandsReply(body: unknown): { commands: unknown[]; warning: string | null } {
  if (typeof body !== 'object' || body === null) return { commands: [], warning: 'reply is not an object' };
  const commands = (body as { commands?: unknown }).commands;
  if (commands === undefined) return { commands: [], warning: 'reply has no commands field' };
  if (!Array.isArray(commands)) return { commands: [], warning: 'commands is not an array' };
  return { commands, warning: null };
}

/** Far above what a master sends (a UUID, a name a person typed, a token of a few hundred characters). */
export const MAX_TUNNEL_ID = 128;
export const MAX_TUNNEL_NAME = 255;
export const MAX_TOKEN = 16384;

const Assignment = jsonObject({
  tunnel_id: v.pipe(nonEmpty, v.maxLength(MAX_TUNNEL_ID)),
  tunnel_name: v.pipe(nonEmpty, v.maxLength(MAX_TUNNEL_NAME)),
});

/**
 * Accept `token` and `tunnel_token` in both tunnel commands (docs/protocol.md §4.1 note): the first that holds a usable
 * string, so an empty or null `token` beside a good `tunnel_token` does not hide it.
 */
function tokenOf(raw: Record<string, unknown>): Decoded<string> {
  const candidates = [raw.token, raw.tunnel_token].filter((t) => t !== undefined && t !== null);
  const usable = candidates.find((t): t is string => typeof t === 'string' && t.trim() !== '');
  if (usable !== undefined)
    return usable.trim().length > MAX_TOKEN
      ? { ok: false, reason: `token is over ${MAX_TOKEN} characters` }
      : { ok: true, value: usable.trim() };
  if (candidates.length === 0 || candidates.some((t) => typeof t !== 'string'))
    return { ok: false, reason: 'token is missing or not a string' };
  return { ok: false, reason: 'token is empty' };
}

/** Ids go into a URL path and the tombstone: printable, bounded. Only a stop of the agent is ever asked for. */
const OperationRef = v.pipe(
  v.string(),
  v.trim(),
  v.minLength(1),
  v.maxLength(128),
  v.regex(/^[A-Za-z0-9._:-]+$/, 'not an id'),
  // `.` and `..` would become dot segments of the acknowledgement's URL and send it (with the key) elsewhere.
  v.check((id) => !/^\.+$/.test(id), 'not an id'),
);
const Decommission = jsonObject({
  operation_id: OperationRef,
  command_id: OperationRef,
  requested_self_action: v.literal('stop'),
});

export function decodeCommand(raw: unknown): Decoded<MasterCommand> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, reason: 'command is not an object' };
  const obj = raw as Record<string, unknown>;
  const action = obj.action;
  if (typeof action !== 'string' || action === '') return { ok: false, reason: 'action is missing or not a string' };
  switch (action) {
    case 'start_tunnel':
    case 'restart_tunnel': {
      const assignment = decodeWith(Assignment, obj);
      if (!assignment.ok) return { ok: false, reason: `${action}: ${assignment.reason}` };
      const token = tokenOf(obj);
      if (!token.ok) return { ok: false, reason: `${action}: ${token.reason}` };
      const value = {
        tunnelId: assignment.value.tunnel_id.trim(),
        tunnelName: assignment.value.tunnel_name.trim(),
        token: token.value,
      };
      return { ok: true, value: { action, assignment: value } };
    }
    case 'stop_tunnel':
      return { ok: true, value: { action } };
    case 'update_tunnel_config': {
      const rules = obj.rules;
      const ruleCount = typeof rules === 'object' && rules !== null ? Object.keys(rules).length : 0;
      return { ok: true, value: { action, ruleCount } };
    }
    case 'prepare_decommission':
    case 'finalize_decommission': {
      const d = decodeWith(Decommission, obj);
      if (!d.ok) return { ok: false, reason: `${action}: ${d.reason}` };
      return {
        ok: true,
        value: {
          action: 'decommission',
          phase: action === 'prepare_decommission' ? 'prepare' : 'finalize',
          commandId: d.value.command_id,
          operationId: d.value.operation_id,
        },
      };
    }
    default:
      return { ok: true, value: { action: 'unknown', name: action.slice(0, 64) } };
  }
}

const EventReplySchema = jsonObject({
  status: v.optional(v.string()),
  code: v.optional(v.string()),
  message: v.optional(v.string()),
});

export function decodeEventReply(body: unknown): Decoded<{ code: string | null }> {
  const parsed = decodeWith(EventReplySchema, body);
  return parsed.ok ? { ok: true, value: { code: parsed.value.code ?? null } } : parsed;
}
