/** CommandPoller's protocol: its poll loop and the identity it polls as (docs/protocol.md §4). */
import type { MasterResult } from '../domain/master-result.js';
import type { IdentityChanged } from './registration.js';

export type CommandPollerMsg =
  | IdentityChanged
  | { readonly type: 'poller.tick' }
  | {
      readonly type: 'poller.result';
      readonly result: MasterResult<{ commands: unknown[]; warning: string | null }>;
      readonly agentId: string;
    };

export const pollerTick = (): CommandPollerMsg => ({ type: 'poller.tick' });
