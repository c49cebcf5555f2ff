/** Registration's protocol: identity with the master (protocol.md §3) and the triggers to renew it (§3.4). */
import type { ActorRef } from '../supervisor/actor-ref.js';

export interface Identity {
  readonly agentId: string;
  readonly protocolVersion: 1 | 2;
  /** Present under protocol v2 only. */
  readonly sessionId: string | null;
}

export type ReregisterCause = 'commands_not_found' | 'registration_required' | 'forbidden' | 'stale_sequence';

export type RegistrationMsg =
  | { readonly type: 'registration.attempt' }
  | { readonly type: 'registration.succeeded'; readonly identity: Identity }
  | { readonly type: 'registration.failed'; readonly status: number | null; readonly code: string | null; readonly retryAfterMs: number | null }
  | { readonly type: 'registration.required'; readonly cause: ReregisterCause; readonly sessionId: string | null }
  | { readonly type: 'registration.get'; readonly replyTo: ActorRef<Identity | null> };

export const registrationAttempt = (): RegistrationMsg => ({ type: 'registration.attempt' });
export const registrationRequired = (cause: ReregisterCause, sessionId: string | null): RegistrationMsg =>
  ({ type: 'registration.required', cause, sessionId });
export const registrationGet = (replyTo: ActorRef<Identity | null>): RegistrationMsg => ({ type: 'registration.get', replyTo });
