/**
 * The on-disk formats of the original agent (docs/protocol.md §8.1), decoded with a schema and written byte for byte
 * as Python's json.dump writes them, so the original and this agent can take turns on one volume.
 */
import * as v from 'valibot';
import { type Decoded, type Schema, decodeWith, jsonObject, notJsonReason } from '../domain/decoded.js';
import { agentIdProblem } from '../domain/identity.js';

export const AGENT_ID_FILE = 'agent_id.txt';
export const TUNNEL_STATE_FILE = 'tunnel_state.json';

export const DesiredState = v.picklist(['unknown', 'running', 'stopped']);
export type DesiredState = v.InferOutput<typeof DesiredState>;

export const TunnelStateSchema = jsonObject({
  // An empty token (the original can write one) is no token: cloudflared would only crash-loop on it.
  token: v.pipe(
    v.optional(v.nullable(v.string()), null),
    v.transform((t) => (t === null || t.trim() === '' ? null : t)),
  ),
  id: v.optional(v.nullable(v.string()), null),
  name: v.optional(v.nullable(v.string()), null),
  desired_state: v.optional(DesiredState, 'unknown'),
});
export type TunnelState = v.InferOutput<typeof TunnelStateSchema>;

export const EMPTY_TUNNEL_STATE: TunnelState = Object.freeze({
  token: null,
  id: null,
  name: null,
  desired_state: 'unknown',
});

/** `json.dump` defaults: `", "` and `": "` separators, non-ASCII escaped as \uXXXX (ensure_ascii). */
export function pythonJson(obj: Readonly<Record<string, string | null>>): string {
  const body = Object.entries(obj)
    .map(([k, v]) => `${asciiJson(k)}: ${v === null ? 'null' : asciiJson(v)}`)
    .join(', ');
  return `{${body}}`;
}

function asciiJson(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function encodeTunnelState(s: TunnelState): string {
  return pythonJson({ token: s.token, id: s.id, name: s.name, desired_state: s.desired_state });
}

/** A state file's JSON text decoded with `schema`; the reason never quotes the text (it may hold a token). */
export function decodeJsonFile<T>(text: string, schema: Schema<T>): Decoded<T> {
  let raw: unknown;
  try {
    // A byte-order mark (an editor on Windows, a restore tool) is not part of the JSON.
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { ok: false, reason: notJsonReason(err) };
  }
  return decodeWith(schema, raw);
}

export function decodeTunnelState(text: string): Decoded<TunnelState> {
  return decodeJsonFile(text, TunnelStateSchema);
}

export function decodeAgentId(text: string): Decoded<string | undefined> {
  const id = text.trim();
  if (id === '') return { ok: true, value: undefined };
  const problem = agentIdProblem(id);
  if (problem !== null) return { ok: false, reason: `not an id: ${problem}` };
  return { ok: true, value: id };
}
