/** The master's commands once decoded (protocol.md §4.1), and the CommandPoller's own loop messages. */
import type { TunnelAssignment } from './tunnel.js';

export type MasterCommand =
  | { readonly action: 'start_tunnel'; readonly assignment: TunnelAssignment }
  | { readonly action: 'restart_tunnel'; readonly assignment: TunnelAssignment }
  | { readonly action: 'stop_tunnel' }
  | { readonly action: 'update_tunnel_config'; readonly ruleCount: number }
  | { readonly action: 'unknown'; readonly name: string };

export type CommandPollerMsg =
  | { readonly type: 'poller.tick' }
  | { readonly type: 'poller.fetched'; readonly commands: readonly MasterCommand[]; readonly rejected: number }
  | { readonly type: 'poller.failed'; readonly status: number | null; readonly retryAfterMs: number | null; readonly reason: string };

export const pollerTick = (): CommandPollerMsg => ({ type: 'poller.tick' });
