/**
 * TunnelKeeper's protocol: the one serialised owner of the cloudflared container (docs/protocol.md §4.2), fed by the
 * CommandPoller, the EventWatcher (its container's Docker events), Registration and its own check timer.
 */
import type { ActorRef } from '../supervisor/actor-ref.js';
import type { TunnelAssignment, TunnelView } from '../domain/tunnel.js';
import type { IdentityChanged } from './registration.js';

/** What the keeper did for one decommission step (docs/protocol.md §13.9): the acknowledgement's tunnel fields. */
export interface TunnelDecommissioned {
  readonly tunnelContainer: 'stopped' | 'absent' | 'failed';
  readonly cloudflaredImage: string;
  readonly errorCode: string | null;
}

export type TunnelKeeperMsg =
  | IdentityChanged
  | { readonly type: 'tunnel.start'; readonly assignment: TunnelAssignment }
  | { readonly type: 'tunnel.restart'; readonly assignment: TunnelAssignment }
  | { readonly type: 'tunnel.stop' }
  | { readonly type: 'tunnel.update-config'; readonly ruleCount: number }
  | { readonly type: 'tunnel.check' }
  | { readonly type: 'tunnel.container-event'; readonly action: string; readonly containerId: string }
  /** Swarm mode: the tunnel service or one of its task containers did something (`service update`, `container die`). */
  | { readonly type: 'tunnel.service-event'; readonly action: string }
  | { readonly type: 'tunnel.get'; readonly replyTo: ActorRef<TunnelView> }
  | {
      readonly type: 'tunnel.decommission';
      readonly phase: 'prepare' | 'finalize';
      readonly replyTo: ActorRef<TunnelDecommissioned>;
    };

export const tunnelStart = (assignment: TunnelAssignment): TunnelKeeperMsg => ({ type: 'tunnel.start', assignment });
export const tunnelRestart = (assignment: TunnelAssignment): TunnelKeeperMsg => ({
  type: 'tunnel.restart',
  assignment,
});
export const tunnelStop = (): TunnelKeeperMsg => ({ type: 'tunnel.stop' });
export const tunnelUpdateConfig = (ruleCount: number): TunnelKeeperMsg => ({ type: 'tunnel.update-config', ruleCount });
export const tunnelCheck = (): TunnelKeeperMsg => ({ type: 'tunnel.check' });
/** The actions of its own container the TunnelKeeper reacts to (`health_status` stands for `health_status: *`). */
export const TUNNEL_WATCHED_ACTIONS: readonly string[] = ['die', 'oom', 'destroy', 'stop', 'kill', 'health_status'];

export const tunnelContainerEvent = (action: string, containerId: string): TunnelKeeperMsg => ({
  type: 'tunnel.container-event',
  action,
  containerId,
});
export const tunnelServiceEvent = (action: string): TunnelKeeperMsg => ({ type: 'tunnel.service-event', action });
export const tunnelGet = (replyTo: ActorRef<TunnelView>): TunnelKeeperMsg => ({ type: 'tunnel.get', replyTo });
export const tunnelDecommission = (
  phase: 'prepare' | 'finalize',
  replyTo: ActorRef<TunnelDecommissioned>,
): TunnelKeeperMsg => ({ type: 'tunnel.decommission', phase, replyTo });
