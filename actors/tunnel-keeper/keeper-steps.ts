/**
 * The tunnel keeper's basic steps, shared by its reconcile and its handlers: what it publishes and tells, its one
 * turn on Docker across incarnations, and its failure rule (first loud, the same again quiet, a backoff after).
 */
import { isDockerError, type DockerPort } from '../../docker/port.js';
import { masterTimestamp } from '../../master/envelope.js';
import { inTurn } from '../../supervisor/turns.js';
import { loudOnce } from '../../log/loud-once.js';
import { failureDelay } from '../../supervisor/backoff.js';
import { reporterEnqueue, type ReporterMsg } from '../../messages/reporter.js';
import { TUNNEL_WATCHED_ACTIONS, tunnelCheck, type TunnelKeeperMsg } from '../../messages/tunnel-keeper.js';
import type { TunnelState } from '../../persistence/formats.js';
import type { StateStore } from '../../persistence/state-files.js';
import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { ActorContext } from '../../supervisor/child-spec.js';
import type { StatusBoard } from '../../domain/status-board.js';
import type { LifecycleView } from '../../domain/lifecycle.js';
import { type TunnelKeeperState } from './keeper-state.js';
import { type KeeperMemory } from './probation.js';
import type { SwarmPort } from '../../docker/swarm-port.js';

export interface SwarmTunnelDeps {
  swarm: SwarmPort;
  /** TUNNEL_REPLICAS: cloudflared connectors of the one tunnel, spread by Swarm over the nodes. */
  replicas: number;
}

export interface TunnelKeeperDeps {
  docker: DockerPort;
  store: StateStore;
  reporter: ActorRef<ReporterMsg>;
  board: StatusBoard;
  image: string;
  network: string;
  createNetwork: boolean;
  checkIntervalMs: number;
  /**
   * How long a container's run must last before it counts as running and is reported (docs/protocol.md §7.2 step 5).
   */
  startConfirmMs: number;
  /** `docker stop` grace for replacements (protocol: 10 s); the removal at shutdown is teardown.ts's. */
  stopTimeoutS: number;
  /** Decommissioning: the keeper restores nothing and obeys only the decommission (docs/protocol.md §13.11). */
  lifecycle: LifecycleView;
  random: () => number;
  /** Swarm mode (docs/swarm.md): the tunnel is a service, not a container. */
  swarm?: SwarmTunnelDeps;
}

/**
 * Docker's own restarts get this many checks before the keeper replaces the container (docs/protocol.md §7.2 step 2).
 */
export const RESTARTING_CHECKS = 3;

export type Ctx = ActorContext<TunnelKeeperMsg, KeeperMemory>;
export const FIRST_RETRY_MS = 2000;
export const RETRY_CAP_MS = 120_000;
/** After a die, give Docker's restart policy a moment to claim the container before deciding to recreate it. */
export const AFTER_DIE_CHECK_MS = 300;
export const WATCHED_ACTIONS = new Set(TUNNEL_WATCHED_ACTIONS);
/** How long a keeper waits for an earlier incarnation's Docker operation (an image pull may take this long). */
export const PREVIOUS_OPERATION_WAIT_MS = 5 * 60_000;

export type KeeperSteps = ReturnType<typeof keeperSteps>;

export function keeperSteps(deps: TunnelKeeperDeps) {
  const publish = (s: TunnelKeeperState): void => {
    deps.board.publish('tunnel', {
      desiredState: s.tunnel.desired_state,
      name: s.tunnel.name,
      id: s.tunnel.id,
      containerRunning: s.running,
      version: s.version,
    });
  };
  const report = (ctx: Ctx, status: 'running' | 'stopped', name: string | null, version: string | null): void => {
    tell(
      deps.reporter,
      reporterEnqueue({ type: 'tunnel_status', status, name, version, timestamp: masterTimestamp(ctx.clock.now()) }),
    );
  };
  const persist = async (tunnel: TunnelState): Promise<void> => {
    await deps.store.saveTunnelState(tunnel);
  };

  /**
   * One owner of the container across incarnations: a killed keeper's Docker calls run on (nact cannot stop a
   * handler half-way, and Docker calls take no abort signal), so each operation waits for the one before it.
   */
  const exclusive = <T>(ctx: Ctx, work: () => Promise<T>): Promise<T> =>
    inTurn(
      ctx.carried,
      ctx.clock,
      PREVIOUS_OPERATION_WAIT_MS,
      () => {
        ctx.log.warn(
          { event: 'tunnel_previous_operation_slow', waitedMs: PREVIOUS_OPERATION_WAIT_MS },
          'previous tunnel operation still out',
        );
      },
      work,
    );

  /**
   * One more failure, logged by the keeper's rule: the first is an error; the same failure again (a missing image,
   * a token cloudflared refuses) is logged at debug while it lasts, a different one at warn; tunnel_recovered ends
   * it. `retryInMs` null: the caller retries at once.
   */
  const noteFailure = (
    s: TunnelKeeperState,
    ctx: Ctx,
    reason: string,
    fields: Record<string, unknown>,
    text: string,
    retryInMs: number | null,
  ): TunnelKeeperState => {
    const failures = s.failures + 1;
    const all = { ...fields, failures, ...(retryInMs === null ? {} : { retryInMs }) };
    // The first failure of a run is an error; a different one after it a warning.
    loudOnce(ctx.log, s.failures === 0 ? null : s.lastFailure, reason, s.failures === 0 ? 'error' : 'warn', all, text);
    return { ...s, running: false, probation: null, failures, lastFailure: reason };
  };

  /** A failed attempt: noted, then retried by the check after a backoff that the container's own events respect. */
  const failed = (
    s: TunnelKeeperState,
    ctx: Ctx,
    reason: string,
    fields: Record<string, unknown>,
    text: string,
  ): TunnelKeeperState => {
    const retryInMs = failureDelay(s.failures + 1, FIRST_RETRY_MS, RETRY_CAP_MS, deps.random());
    ctx.timers.once('check', retryInMs, tunnelCheck());
    const next = {
      ...noteFailure(s, ctx, reason, fields, text, retryInMs),
      backoffUntil: ctx.clock.monotonic() + retryInMs,
    };
    publish(next);
    return next;
  };

  /** A reconcile that Docker failed: the one log line and backoff of both modes. Anything else is a crash. */
  const reconcileFailed = (s: TunnelKeeperState, ctx: Ctx, err: unknown, text: string): TunnelKeeperState => {
    if (!isDockerError(err)) throw err;
    return failed(
      s,
      ctx,
      `${err.kind}: ${err.message}`,
      { event: 'tunnel_reconcile_failed', kind: err.kind, err },
      text,
    );
  };

  const logRecovered = (s: TunnelKeeperState, ctx: Ctx): void => {
    if (s.failures > 0)
      ctx.log.info({ event: 'tunnel_recovered', failures: s.failures }, 'tunnel container reconciled after failures');
  };

  return { publish, report, persist, exclusive, noteFailure, failed, reconcileFailed, logRecovered };
}
