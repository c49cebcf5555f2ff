/**
 * Bearer authentication as the master does it: split the header on whitespace, exactly two parts, the first
 * `bearer` in any case. Agent keys are valid on the three agent endpoints only; admin routes take the master key.
 */
import type { RequestContext } from './request.js';
import type { KeyRecord, MasterState } from './state.js';
import type { MasterMode, Reply } from './types.js';
import { unauthorized } from './replies.js';

export function bearerToken(headers: Record<string, string>): string | undefined {
  const parts = (headers.authorization ?? '').trim().split(/\s+/);
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer') return undefined;
  return parts[1];
}

export type AgentAuth = { ok: true; key: KeyRecord } | { ok: false; reply: Reply };

/** 401 for a missing or malformed header, an unknown key and a revoked key alike. */
export function authenticateAgent(state: MasterState, mode: MasterMode, ctx: RequestContext): AgentAuth {
  const token = bearerToken(ctx.headers);
  const key = token === undefined ? undefined : state.activeKey(token);
  return key ? { ok: true, key } : { ok: false, reply: unauthorized(mode) };
}

export function isMasterKey(ctx: RequestContext, masterKey: string): boolean {
  return bearerToken(ctx.headers) === masterKey;
}

/**
 * Whether this key may act for this record. v2 binds the key to an id (key side); v1 gives the record a key slot
 * and lets an empty slot through (record side).
 */
export function keyFitsAgent(mode: MasterMode, key: KeyRecord, agentId: string, slot: string | null): boolean {
  return mode === 'v2' ? key.boundAgentId === agentId : slot === null || slot === key.key;
}
