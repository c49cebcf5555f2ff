/**
 * The tunnel container's removal at a graceful shutdown. It belongs to the process, not to one incarnation of the
 * tunnel keeper: SIGTERM can come while the keeper is backing off after a crash, still in its init, or stuck in a
 * slow Docker call, and the container must go all the same (the original agent left it running). The tree runs it
 * once its actors have stopped. It takes its turn like every keeper operation: a killed keeper's Docker call
 * (creating the container, say) runs on, and removing before it ends would leave the container it then makes.
 */
import type { Clock } from '../../supervisor/clock.js';
import type { DockerPort } from '../../docker/port.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import { inTurn, type Turns } from '../../supervisor/turns.js';
import type { Logger } from '../../log/logger.js';
import type { LifecycleView } from '../../domain/lifecycle.js';
import type { SwarmPort } from '../../docker/swarm-port.js';

export interface TunnelTeardownDeps {
  docker: DockerPort;
  /**
   * The keeper's turns (what its incarnations carry), read at shutdown: the removal comes after any keeper
   * operation still running.
   */
  turns: () => Turns;
  removeOnShutdown: boolean;
  /** While a decommission is under way the stopped container stays, whatever removeOnShutdown says. */
  lifecycle: LifecycleView;
  /** Cap of cloudflared's `docker stop` grace at shutdown. */
  shutdownStopTimeoutS: number;
  clock: Clock;
  log: Logger;
  /** Swarm mode: the tunnel is a service, removed as a whole (Swarm stops its tasks with their grace period). */
  swarm?: SwarmPort;
}

/** Kept for the stop and the removal themselves when an earlier operation holds the turn. */
export const REMOVAL_RESERVE_MS = 2000;

/**
 * Stops and removes the tunnel container by `deadline` (the clock's monotonic ms), after the keeper's last operation if
 * it can.
 */
export function tunnelTeardown(deps: TunnelTeardownDeps): (deadline: number) => Promise<void> {
  const { clock, log } = deps;
  return async (deadline) => {
    if (deps.lifecycle.lifecycle !== 'enrolled') {
      log.info(
        { event: 'tunnel_left_stopped', why: `decommission ${deps.lifecycle.lifecycle}` },
        'tunnel container left as it is',
      );
      return;
    }
    if (!deps.removeOnShutdown) {
      log.info(
        { event: 'tunnel_left_running', why: 'TUNNEL_REMOVE_ON_SHUTDOWN=false' },
        'tunnel container left running',
      );
      return;
    }
    const waitMs = Math.max(0, deadline - clock.monotonic() - REMOVAL_RESERVE_MS);
    const onSlow = (): void => {
      log.warn(
        { event: 'tunnel_previous_operation_slow', waitedMs: waitMs },
        'tunnel operation still out; removing anyway',
      );
    };
    const swarm = deps.swarm;
    if (swarm) {
      await inTurn(deps.turns(), clock, waitMs, onSlow, async () => {
        try {
          const removed = await swarm.removeService(TUNNEL_CONTAINER);
          log.info({ event: removed ? 'tunnel_removed_on_shutdown' : 'tunnel_none_on_shutdown' }, 'tunnel service');
        } catch (err) {
          log.error({ event: 'tunnel_remove_failed', err }, 'tunnel service removal failed');
        }
      });
      return;
    }
    await inTurn(deps.turns(), clock, waitMs, onSlow, async () => {
      // Only for the log line: a failing inspect must not cost the removal.
      const found = await deps.docker.inspectContainer(TUNNEL_CONTAINER).catch(() => undefined);
      try {
        // cloudflared gets what is left of the budget to drain, keeping a second for the removal itself; with less
        // than that left it is killed at once (a stop of 0 s) rather than left behind.
        const leftS = Math.floor((deadline - clock.monotonic()) / 1000) - 1;
        const removal = await deps.docker.stopAndRemove(
          TUNNEL_CONTAINER,
          Math.max(0, Math.min(deps.shutdownStopTimeoutS, leftS)),
        );
        if (removal.kind === 'renamed')
          log.info(
            { event: 'tunnel_container_renamed_aside', name: removal.name },
            'tunnel container stopped, renamed',
          );
        else if (found === null) log.info({ event: 'tunnel_none_on_shutdown' }, 'no tunnel container to remove');
        else
          log.info({ event: 'tunnel_removed_on_shutdown', containerId: found?.id ?? null }, 'tunnel container removed');
      } catch (err) {
        log.error({ event: 'tunnel_remove_failed', err }, 'tunnel container removal failed');
      }
    });
  };
}
