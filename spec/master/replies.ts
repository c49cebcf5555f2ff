/**
 * Reply bodies, exact where docs/protocol.md quotes them. v2 bodies always carry `status` and `code`; v1 bodies have a
 * `message` instead of a code.
 */
import type { MasterMode, Reply } from './types.js';

export function v2Reply(status: number, code: string, extra: Record<string, unknown> = {}): Reply {
  return { status, body: { status: status < 400 ? 'success' : 'error', code, ...extra } };
}

export function v2Error(status: number, code: string, message: string): Reply {
  return { status, body: { status: 'error', code, message } };
}

export function v1Error(status: number, message: string): Reply {
  return { status, body: { status: 'error', message } };
}

export function unauthorized(mode: MasterMode): Reply {
  return mode === 'v2'
    ? v2Error(401, 'unauthorized', 'Missing, invalid or revoked agent key.')
    : v1Error(401, 'Missing or invalid Authorization header.');
}

export function keyMismatch(mode: MasterMode): Reply {
  return mode === 'v2'
    ? v2Error(403, 'agent_key_mismatch', 'API key does not match this agent.')
    : v1Error(403, 'API key mismatch for agent.');
}

/** The same body from both masters; docs/protocol.md §4 tells agents not to require a code here. */
export function agentNotFound(): Reply {
  return v1Error(404, 'Agent not found.');
}

export function invalidPayload(mode: MasterMode, message: string): Reply {
  return mode === 'v2' ? v2Error(400, 'invalid_payload', message) : v1Error(400, message);
}

export function tooLarge(mode: MasterMode, message: string): Reply {
  return mode === 'v2' ? v2Error(413, 'payload_too_large', message) : v1Error(413, message);
}

export function methodNotAllowed(allow: string): Reply {
  return { ...v1Error(405, 'Method not allowed.'), headers: { allow } };
}

export function notFound(): Reply {
  return v1Error(404, 'Not found.');
}

/** What an injected `status` fault answers when the rule gives no body: the code a real master would use. */
export function defaultFaultBody(status: number): Record<string, unknown> {
  if (status === 503) return { status: 'error', code: 'persistence_failed', message: 'Could not persist agent state.' };
  if (status === 500) return { status: 'error', code: 'processing_failed', message: 'Internal error.' };
  if (status === 429) return { status: 'error', code: 'rate_limited', message: 'Too many requests.' };
  return { status: 'error', code: 'injected_fault', message: `Injected HTTP ${status}.` };
}
