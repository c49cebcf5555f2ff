/**
 * One agent or admin request as the handlers see it: flattened headers and the body, already read and parsed.
 * Parsing happens once, up front, because fault rules match on the event type before any handler runs.
 */
import type { MasterMode, Reply } from './types.js';
import { invalidPayload } from './replies.js';

export type Parsed = { ok: true; value: unknown } | { ok: false };

export interface RequestContext {
  headers: Record<string, string>;
  rawBody: string;
  parsed: Parsed;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Never throws: invalid JSON, and nesting deep enough to overflow the parser's stack, are both "not JSON". */
export function parseJson(text: string): Parsed {
  if (text.trim() === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * The JSON object an agent POST must carry. The master reads the body only as JSON: Flask's get_json refuses
 * another content type (docs/protocol.md §2 leaves 400 vs 415 open; we answer 415 so a missing header is noticed).
 */
export function objectBody(
  mode: MasterMode,
  ctx: RequestContext,
): { ok: true; body: Record<string, unknown> } | { ok: false; reply: Reply } {
  const type = (ctx.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (ctx.rawBody.trim() !== '' && type !== 'application/json') {
    const message = 'Content-Type must be application/json.';
    return {
      ok: false,
      reply: {
        status: 415,
        body: mode === 'v2' ? { status: 'error', code: 'invalid_payload', message } : { status: 'error', message },
      },
    };
  }
  if (!ctx.parsed.ok || !isRecord(ctx.parsed.value))
    return { ok: false, reply: invalidPayload(mode, 'Invalid JSON payload.') };
  return { ok: true, body: ctx.parsed.value };
}
