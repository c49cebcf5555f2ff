/**
 * The outcome of one master request, as the actors react to it (docs/protocol.md §3.2, §4, §5.2). A union instead
 * of exceptions: every caller must decide what each kind means for it, and the compiler checks it did.
 *
 *   transient    5xx, 429, timeouts, network errors, non-JSON or undecodable 2xx replies, 4xx replies that are not
 *                JSON (a proxy or login page in front of the master): retry with backoff
 *   unauthorized 401: key unknown or revoked; nothing helps until reconfigured
 *   forbidden    403: key bound to another agent, or (v2 events) unknown agent
 *   not_found    404: agent record gone (v1 events, commands)
 *   registration_required  409 registration_required: re-register, then resend
 *   stale_sequence         409 stale_sequence: drop, resynchronise by re-registering
 *   decommissioning        409 agent_decommissioning: the master is removing this agent; events are not wanted
 *   invalid      400 / 409 unsupported_protocol: our bug or an incompatible master; never retry unchanged
 *   too_large    413
 *   rejected     any other status
 */
export type MasterFailure =
  | {
      readonly kind: 'transient';
      readonly status: number | null;
      readonly retryAfterMs: number | null;
      readonly reason: string;
    }
  | { readonly kind: 'unauthorized'; readonly status: 401 }
  | { readonly kind: 'forbidden'; readonly status: 403; readonly code: string | null }
  | { readonly kind: 'not_found'; readonly status: 404 }
  | { readonly kind: 'registration_required'; readonly status: 409 }
  | { readonly kind: 'stale_sequence'; readonly status: 409 }
  | { readonly kind: 'decommissioning'; readonly status: 409 }
  | { readonly kind: 'invalid'; readonly status: number; readonly code: string | null; readonly message: string | null }
  | { readonly kind: 'too_large'; readonly status: 413 }
  | { readonly kind: 'rejected'; readonly status: number; readonly code: string | null };

export type MasterResult<T> =
  | { readonly ok: true; readonly status: number; readonly value: T }
  | { readonly ok: false; readonly failure: MasterFailure };

export function describeFailure(f: MasterFailure): string {
  switch (f.kind) {
    case 'transient':
      return `transient failure (${f.status ?? 'no status'}): ${f.reason}`;
    case 'unauthorized':
      return 'key rejected (401): check DOCKFLARE_API_KEY';
    case 'forbidden':
      return `forbidden (403${f.code ? ` ${f.code}` : ''})`;
    case 'not_found':
      return 'agent not found (404)';
    case 'registration_required':
      return 'registration required (409)';
    case 'stale_sequence':
      return 'stale sequence (409)';
    case 'decommissioning':
      return 'the master is decommissioning this agent (409)';
    case 'invalid':
      return `rejected as invalid (${f.status}${f.code ? ` ${f.code}` : ''})${f.message ? `: ${f.message}` : ''}`;
    case 'too_large':
      return 'payload too large (413)';
    case 'rejected':
      return `rejected (${f.status}${f.code ? ` ${f.code}` : ''})`;
  }
}
