/** The master's commands once decoded (protocol.md §4.1), and the CommandPoller's own loop messages. */
import type { MasterResult } from '../lib/master/result.js';
import type { IdentityChanged } from './registration.js';
import type { TunnelAssignment } from './tunnel.js';

export type MasterCommand =
  | { readonly action: 'start_tunnel'; readonly assignment: TunnelAssignment }
  | { readonly action: 'restart_tunnel'; readonly assignment: TunnelAssignment }
  | { readonly action: 'stop_tunnel' }
  | { readonly action: 'update_tunnel_config'; readonly ruleCount: number }
  | { readonly action: 'decommission'; readonly phase: 'prepare' | 'finalize'; readonly commandId: string | null; readonly operationId: string | null }
  | { readonly action: 'unknown'; readonly name: string };

export type CommandPollerMsg =
  | IdentityChanged
  | { readonly type: 'poller.tick' }
  | { readonly type: 'poller.result'; readonly result: MasterResult<{ commands: unknown[]; warning: string | null }>; readonly agentId: string };

export const pollerTick = (): CommandPollerMsg => ({ type: 'poller.tick' });
