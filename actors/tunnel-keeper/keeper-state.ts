/**
 * The tunnel keeper's state, apart from its actor so that the actor file holds behaviour only: what one
 * incarnation knows of the tunnel and its container, and the views of it other actors may ask for.
 */
import type { TunnelView } from '../../domain/tunnel.js';
import type { TunnelState } from '../../persistence/formats.js';
import type { Probation } from './probation.js';

export interface TunnelKeeperState {
  tunnel: TunnelState;
  containerId: string | null;
  running: boolean;
  version: string | null;
  failures: number;
  /** The last failure's kind and message: the same failure again is logged at debug while it lasts. */
  lastFailure: string | null;
  /** The container the master was told runs: any other one is confirmed first, then reported once. */
  reportedId: string | null;
  /** A run not yet confirmed: Docker's start time and restart count when first seen, our clock then, why. */
  probation: Probation | null;
  /**
   * Until when (monotonic ms) a failure's backoff holds: the container's own events do not pull the next check earlier.
   */
  backoffUntil: number | null;
  /** A kill, stop or destroy event was seen for the container under probation: its end came from outside. */
  stoppedFromOutside: boolean;
  /** The container event that made the next check necessary, so a recreate can say why. */
  lastEvent: string | null;
  /** Checks in a row that found Docker restarting the container; a crash loop (a dead token) ends in a recreate. */
  restartingChecks: number;
  /** Swarm mode: when (our monotonic ms) each running task of the service was first seen running. */
  taskSeen: ReadonlyMap<string, number>;
  /** Swarm mode: since when (monotonic ms) the service has had no confirmed task, and whether that was warned of. */
  unconfirmedSince: number | null;
  unconfirmedWarned: boolean;
}

/** A new incarnation's state: the stored assignment, and nothing known yet about Docker. */
export const restoredState = (tunnel: TunnelState): TunnelKeeperState => ({
  tunnel,
  containerId: null,
  running: false,
  version: null,
  failures: 0,
  lastFailure: null,
  reportedId: null,
  probation: null,
  backoffUntil: null,
  stoppedFromOutside: false,
  lastEvent: null,
  restartingChecks: 0,
  taskSeen: new Map(),
  unconfirmedSince: null,
  unconfirmedWarned: false,
});

/** What `tunnel.get` answers; no token in it. */
export const tunnelView = (s: TunnelKeeperState): TunnelView => ({
  desiredState: s.tunnel.desired_state,
  name: s.tunnel.name,
  id: s.tunnel.id,
  containerId: s.containerId,
  containerRunning: s.running,
  version: s.version,
});
