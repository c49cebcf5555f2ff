/** CommandPoller's protocol: its poll loop and the identity it polls as (docs/protocol.md §4). */
import type { MasterResult } from '../domain/master-result.js';
import type { IdentityChanged } from './registration.js';
import type { MasterCommand } from '../domain/commands.js';

type DecommissionCommand = Extract<MasterCommand, { action: 'decommission' }>;

export type CommandPollerMsg =
  | IdentityChanged
  | { readonly type: 'poller.tick' }
  | {
      readonly type: 'poller.result';
      readonly result: MasterResult<{ commands: unknown[]; warning: string | null }>;
      readonly agentId: string;
    }
  | { readonly type: 'poller.decommission'; readonly command: DecommissionCommand }
  | {
      readonly type: 'poller.decommission-done';
      readonly command: DecommissionCommand;
      /** Null when the step threw (the keeper did not answer): the master serves the command again. */
      readonly outcome: { readonly acknowledged: boolean; readonly finished: boolean } | null;
    };

export const pollerTick = (): CommandPollerMsg => ({ type: 'poller.tick' });
export const pollerDecommission = (command: DecommissionCommand): CommandPollerMsg => ({
  type: 'poller.decommission',
  command,
});
