/**
 * What the agent tells the master: events (docs/protocol.md §5.3) and the inventory a status report is built from
 * (§5.5).
 */
import type { ContainerInfo } from './container.js';

export type OutboundEvent =
  | { readonly type: 'container_start'; readonly container: ContainerInfo; readonly timestamp: string }
  | { readonly type: 'container_stop'; readonly container: ContainerInfo; readonly timestamp: string }
  | {
      readonly type: 'tunnel_status';
      readonly status: 'running' | 'stopped';
      readonly name: string | null;
      readonly version: string | null;
      readonly timestamp: string;
    };

/** One scan of the labelled running containers; a failed scan is never mistaken for an empty host. */
export type Scan =
  | { readonly ok: true; readonly containers: readonly ContainerInfo[] }
  | { readonly ok: false; readonly reason: string };
