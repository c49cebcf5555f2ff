/** The master's commands once decoded (docs/protocol.md §4.1, §4.3). */
import type { TunnelAssignment } from './tunnel.js';

export type MasterCommand =
  | { readonly action: 'start_tunnel'; readonly assignment: TunnelAssignment }
  | { readonly action: 'restart_tunnel'; readonly assignment: TunnelAssignment }
  | { readonly action: 'stop_tunnel' }
  | { readonly action: 'update_tunnel_config'; readonly ruleCount: number }
  | {
      readonly action: 'decommission';
      readonly phase: 'prepare' | 'finalize';
      readonly commandId: string;
      readonly operationId: string;
    }
  | { readonly action: 'unknown'; readonly name: string };
