/**
 * How a master reply's status becomes a MasterResult failure (docs/protocol.md §3.2, §5.2), and Retry-After read as
 * a delay. Pure, so the whole table is tested without a server.
 */
import type { MasterFailure } from '../domain/master-result.js';

/** A Retry-After longer than this is taken as this: a master asking for an hour is retried within a minute. */
const RETRY_AFTER_CAP_MS = 60_000;

export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return null;
    ms = at - now;
  }
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, ms));
}

export const isJsonObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === 'object' && json !== null && !Array.isArray(json);

export function transient(
  status: number | null,
  reason: string,
  retryAfterMs: number | null = null,
): { ok: false; failure: MasterFailure } {
  return { ok: false, failure: { kind: 'transient', status, retryAfterMs, reason } };
}

export function classify(status: number, json: unknown, retryAfterMs: number | null): MasterFailure {
  const obj = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const code = typeof obj.code === 'string' ? obj.code.slice(0, 64) : null;
  const message = typeof obj.message === 'string' ? obj.message.slice(0, 200) : null;
  if (status === 429 || status >= 500)
    return { kind: 'transient', status, retryAfterMs, reason: code ?? `HTTP ${status}` };
  if (status >= 300 && status < 400)
    return {
      kind: 'transient',
      status,
      retryAfterMs: null,
      reason: 'redirected (a login page in front of the master? check Cloudflare Access settings)',
    };
  switch (status) {
    case 401:
      return { kind: 'unauthorized', status };
    case 403:
      return { kind: 'forbidden', status, code };
    case 404:
      return { kind: 'not_found', status };
    case 409:
      if (code === 'registration_required') return { kind: 'registration_required', status };
      if (code === 'stale_sequence') return { kind: 'stale_sequence', status };
      if (code === 'agent_decommissioning') return { kind: 'decommissioning', status };
      return { kind: 'invalid', status, code, message };
    case 413:
      return { kind: 'too_large', status };
    case 400:
    case 422:
      return { kind: 'invalid', status, code, message };
    default:
      return { kind: 'rejected', status, code };
  }
}
