/** Registration's protocol: identity with the master (docs/protocol.md §3) and the triggers to renew it (§3.4). */
import type { Identity, RegisterReply, ReregisterCause } from '../domain/identity.js';
import type { MasterResult } from '../domain/master-result.js';
import type { ActorRef } from '../supervisor/actor-ref.js';

/** What Registration tells the workers that speak to the master. */
export interface IdentityChanged {
  readonly type: 'identity.changed';
  readonly identity: Identity;
}

export type RegistrationMsg =
  | { readonly type: 'registration.attempt' }
  | { readonly type: 'registration.result'; readonly result: MasterResult<RegisterReply> }
  /** `identity` is the one the sender used: a trigger about an older identity is stale and ignored. */
  | { readonly type: 'registration.required'; readonly cause: ReregisterCause; readonly identity: Identity }
  | { readonly type: 'registration.get'; readonly replyTo: ActorRef<IdentityChanged> };

export const registrationAttempt = (): RegistrationMsg => ({ type: 'registration.attempt' });
export const registrationRequired = (cause: ReregisterCause, identity: Identity): RegistrationMsg => ({
  type: 'registration.required',
  cause,
  identity,
});
export const registrationGet = (replyTo: ActorRef<IdentityChanged>): RegistrationMsg => ({
  type: 'registration.get',
  replyTo,
});
export const identityChanged = (identity: Identity): IdentityChanged => ({ type: 'identity.changed', identity });
