/**
 * Decoding of master replies and commands from `unknown` (docs/architecture.md §4.3). A reply that does not decode is a
 * named failure with a readable reason, never a cast. Unknown keys are ignored: masters add fields.
 */
import * as z from 'zod';
import { reasonOf, type Decoded } from '../domain/decoded.js';
import { agentIdProblem, type RegisterReply } from '../domain/identity.js';
import type { MasterCommand } from '../domain/commands.js';

const nonEmpty = z.string().trim().min(1);

const RegisterReplySchema = z.object({
  agent_id: nonEmpty,
  protocol_version: z.union([z.literal(1), z.literal(2), z.null()]).optional(),
  agent_session_id: z.string().nullable().optional(),
  agent: z.object({ status: z.string().optional() }).loose().optional(),
  status: z.string().optional(),
});

export function decodeRegisterReply(body: unknown): Decoded<RegisterReply> {
  const parsed = RegisterReplySchema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: reasonOf(parsed.error) };
  const r = parsed.data;
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

const Assignment = z.object({ tunnel_id: nonEmpty.max(MAX_TUNNEL_ID), tunnel_name: nonEmpty.max(MAX_TUNNEL_NAME) });

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
const OperationRef = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'not an id')
  // `.` and `..` would become dot segments of the acknowledgement's URL and send it (with the key) elsewhere.
  .refine((id) => !/^\.+$/.test(id), 'not an id');
const Decommission = z.object({
  operation_id: OperationRef,
  command_id: OperationRef,
  requested_self_action: z.literal('stop'),
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
      const assignment = Assignment.safeParse(obj);
      if (!assignment.success) return { ok: false, reason: `${action}: ${reasonOf(assignment.error)}` };
      const token = tokenOf(obj);
      if (!token.ok) return { ok: false, reason: `${action}: ${token.reason}` };
      const value = {
        tunnelId: assignment.data.tunnel_id.trim(),
        tunnelName: assignment.data.tunnel_name.trim(),
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
      const d = Decommission.safeParse(obj);
      if (!d.success) return { ok: false, reason: `${action}: ${reasonOf(d.error)}` };
      return {
        ok: true,
        value: {
          action: 'decommission',
          phase: action === 'prepare_decommission' ? 'prepare' : 'finalize',
          commandId: d.data.command_id,
          operationId: d.data.operation_id,
        },
      };
    }
    default:
      return { ok: true, value: { action: 'unknown', name: action.slice(0, 64) } };
  }
}

const EventReplySchema = z.object({
  status: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
});

export function decodeEventReply(body: unknown): Decoded<{ code: string | null }> {
  const parsed = EventReplySchema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: reasonOf(parsed.error) };
  return { ok: true, value: { code: parsed.data.code ?? null } };
}
