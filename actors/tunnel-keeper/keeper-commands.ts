/**
 * The master's start_tunnel, restart_tunnel and stop_tunnel as the keeper carries them out, whatever runs the tunnel
 * (a container, or a Swarm service): the assignment stored before anything changes in Docker, the stop stored as
 * stopped first and the token cleared last, so a crash half-way is repaired by the next check rather than lost.
 */
import type { TunnelAssignment } from '../../domain/tunnel.js';
import { isDockerError } from '../../docker/port.js';
import { tunnelCheck } from '../../messages/tunnel-keeper.js';
import type { TunnelState } from '../../persistence/formats.js';
import type { TunnelKeeperState } from './keeper-state.js';
import { FIRST_RETRY_MS, type Ctx, type KeeperSteps } from './keeper-steps.js';

export type Reconcile = (s: TunnelKeeperState, ctx: Ctx, replace: boolean, cause: string) => Promise<TunnelKeeperState>;

/**
 * The master's start, restart and stop on top of a reconcile and a take-down (the container's removal, or the
 * service's scale to 0): the same order of effects whatever runs the tunnel.
 */
export function commandSteps(steps: KeeperSteps, reconcile: Reconcile, takeDown: (ctx: Ctx) => Promise<void>) {
  const { publish, report, persist, exclusive } = steps;
  const assign = async (
    s: TunnelKeeperState,
    ctx: Ctx,
    a: TunnelAssignment,
    forceReplace: boolean,
    action: string,
  ): Promise<TunnelKeeperState> => {
    if (typeof a.token !== 'string' || a.token.trim() === '') {
      ctx.log.error(
        { event: 'command_rejected', action, reason: 'empty or non-string token' },
        'tunnel command rejected',
      );
      return s;
    }
    const changed = a.token !== s.tunnel.token || a.tunnelId !== s.tunnel.id;
    // Persist first: a crash half-way is then repaired by the check, not lost (docs/protocol.md §4).
    const tunnel: TunnelState = { token: a.token, id: a.tunnelId, name: a.tunnelName, desired_state: 'running' };
    await persist(tunnel);
    ctx.log.info(
      {
        event: 'tunnel_assigned',
        action,
        tunnelId: a.tunnelId,
        tunnelName: a.tunnelName,
        replace: forceReplace || changed,
      },
      'tunnel assignment stored',
    );
    return reconcile({ ...s, tunnel, version: changed ? null : s.version }, ctx, forceReplace || changed, action);
  };

  /** The master's stop_tunnel: stored as stopped first, then the container goes, then the token is cleared. */
  const stop = (s: TunnelKeeperState, ctx: Ctx): Promise<TunnelKeeperState> =>
    exclusive(ctx, async () => {
      const name = s.tunnel.name;
      const stopped: TunnelState = { ...s.tunnel, desired_state: 'stopped' };
      await persist(stopped);
      try {
        await takeDown(ctx);
      } catch (err) {
        if (!isDockerError(err)) throw err;
        ctx.log.error({ event: 'tunnel_stop_failed', err }, 'tunnel container stop failed');
        ctx.timers.once('check', FIRST_RETRY_MS, tunnelCheck());
      }
      ctx.log.info({ event: 'tunnel_stopped', tunnelName: name }, 'tunnel stopped on command');
      report(ctx, 'stopped', name, null);
      const cleared: TunnelState = { token: null, id: null, name: null, desired_state: 'stopped' };
      await persist(cleared);
      const next = {
        ...s,
        tunnel: cleared,
        containerId: null,
        running: false,
        version: null,
        reportedId: null,
        probation: null,
        backoffUntil: null,
        stoppedFromOutside: false,
      };
      publish(next);
      return next;
    });

  return { assign, stop };
}
