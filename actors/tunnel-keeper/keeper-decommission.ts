/**
 * The keeper's part of a decommission (docs/protocol.md §13.9, §13.10): the stopped state stored first, then the
 * container stopped and kept (never removed: the operator's clean-up removes it, and a stopped container is what tells
 * a person what ran here). At finalize the token, id and name are cleared. The reply carries the acknowledgement's
 * tunnel fields; nothing here talks to the master.
 */
import { isDockerError } from '../../docker/port.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import type { TunnelDecommissioned } from '../../messages/tunnel-keeper.js';
import type { TunnelState } from '../../persistence/formats.js';
import type { TunnelKeeperState } from './keeper-state.js';
import { scaleToZero } from './tunnel-service.js';
import type { Ctx, KeeperSteps, TunnelKeeperDeps } from './keeper-steps.js';

/** cloudflared's grace to drain its connections, as the upstream agent gives it. */
export const DECOMMISSION_STOP_S = 15;

export function decommissionSteps(deps: TunnelKeeperDeps, steps: KeeperSteps) {
  const { publish, exclusive } = steps;

  const stopKept = async (
    ctx: Ctx,
    phase: 'prepare' | 'finalize',
  ): Promise<Omit<TunnelDecommissioned, 'errorCode'>> => {
    if (deps.swarm) {
      // Swarm mode: the service is kept at 0 tasks (its spec tells a person what ran here); at finalize without the
      // token the master is about to forget.
      const { found } = await scaleToZero(deps.swarm.swarm, phase === 'finalize');
      if (found === null) return { tunnelContainer: 'absent', cloudflaredImage: deps.image };
      if (found.replicas !== 0)
        ctx.log.info({ event: 'tunnel_stopped_for_decommission', serviceId: found.id }, 'tunnel service at 0');
      return { tunnelContainer: 'stopped', cloudflaredImage: found.image };
    }
    const found = await deps.docker.inspectContainer(TUNNEL_CONTAINER);
    if (found === null) return { tunnelContainer: 'absent', cloudflaredImage: deps.image };
    // An exited, dead or created container is left as it is: stopping it again would change nothing.
    if (found.running || found.restarting) {
      await deps.docker.stopContainer(TUNNEL_CONTAINER, DECOMMISSION_STOP_S);
      ctx.log.info({ event: 'tunnel_stopped_for_decommission', containerId: found.id }, 'tunnel container stopped');
    }
    return { tunnelContainer: 'stopped', cloudflaredImage: found.image };
  };

  const step = (
    s: TunnelKeeperState,
    ctx: Ctx,
    phase: 'prepare' | 'finalize',
  ): Promise<{ state: TunnelKeeperState; reply: TunnelDecommissioned }> =>
    exclusive(ctx, async () => {
      const tunnel: TunnelState =
        phase === 'prepare'
          ? { ...s.tunnel, desired_state: 'stopped' }
          : { token: null, id: null, name: null, desired_state: 'stopped' };
      const failed = (errorCode: string): { state: TunnelKeeperState; reply: TunnelDecommissioned } => ({
        state: s,
        reply: { tunnelContainer: 'failed', cloudflaredImage: deps.image, errorCode },
      });
      if (!(await deps.store.saveTunnelState(tunnel))) return failed('state_persistence_failed');
      const next: TunnelKeeperState = { ...s, tunnel, running: false, probation: null, backoffUntil: null };
      publish(next);
      // Finalize checks the container too: a prepare on another data directory, or a container started again by
      // hand since, must not leave cloudflared running with a token the master is about to forget.
      try {
        return { state: next, reply: { ...(await stopKept(ctx, phase)), errorCode: null } };
      } catch (err) {
        if (!isDockerError(err)) throw err;
        ctx.log.error({ event: 'tunnel_stop_failed', kind: err.kind, err }, 'tunnel container stop failed');
        return {
          state: next,
          reply: { tunnelContainer: 'failed', cloudflaredImage: deps.image, errorCode: 'tunnel_stop_failed' },
        };
      }
    });

  return { step };
}
