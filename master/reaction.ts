/**
 * What to do with an event whose request ended with this result (docs/protocol.md §5.2, §3.4). Pure, so the whole
 * table is tested in one place; the Reporter only carries it out.
 */
import type { ReregisterCause } from '../domain/identity.js';
import type { MasterResult } from '../domain/master-result.js';

export type Reaction =
  | { readonly kind: 'delivered'; readonly duplicate: boolean }
  | { readonly kind: 'retry'; readonly retryAfterMs: number | null }
  /** Keep the event; re-register; send it again under the new session with a new number. */
  | { readonly kind: 'reregister_and_resend'; readonly cause: ReregisterCause }
  | { readonly kind: 'drop'; readonly level: 'info' | 'warn' | 'error'; readonly reregister: ReregisterCause | null };

export function reactionTo(result: MasterResult<{ code: string | null }>): Reaction {
  if (result.ok) return { kind: 'delivered', duplicate: result.value.code === 'duplicate_sequence' };
  const f = result.failure;
  switch (f.kind) {
    case 'transient':
      return { kind: 'retry', retryAfterMs: f.retryAfterMs };
    case 'registration_required':
      return { kind: 'reregister_and_resend', cause: 'registration_required' };
    case 'stale_sequence':
      return { kind: 'drop', level: 'warn', reregister: 'stale_sequence' };
    case 'decommissioning':
      // Expected while the master removes this agent: not an agent bug, and sending it again would only loop.
      return { kind: 'drop', level: 'info', reregister: null };
    case 'forbidden':
      return { kind: 'drop', level: 'error', reregister: 'forbidden' };
    case 'not_found':
      return { kind: 'drop', level: 'error', reregister: 'events_not_found' };
    case 'unauthorized':
      return { kind: 'drop', level: 'error', reregister: null };
    case 'invalid':
      return { kind: 'drop', level: 'error', reregister: null };
    case 'too_large':
      return { kind: 'drop', level: 'error', reregister: null };
    case 'rejected':
      return { kind: 'drop', level: 'error', reregister: null };
  }
}
