/**
 * The keeper's reconcile in Swarm mode (docs/swarm.md): the tunnel service's spec brought in line with the desired
 * state (created when gone, updated when someone scaled it, changed its image or the token changed, scaled to 0 when
 * the tunnel is stopped). Tasks are Swarm's: a task that dies is Swarm's to restart, and the keeper only watches the
 * count. The master hears `running` once a task has run for the start confirm time, and again only for a new service.
 */
import { isDockerError } from '../../docker/port.js';
import { runningTasks, type SwarmPort, type TaskState } from '../../docker/swarm-port.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import { tunnelCheck } from '../../messages/tunnel-keeper.js';
import type { TunnelKeeperState } from './keeper-state.js';
import { commandSteps } from './keeper-reconcile.js';
import type { Ctx, KeeperSteps, SwarmTunnelDeps, TunnelKeeperDeps } from './keeper-steps.js';
import { ensureOverlay, scaleToZero, serviceSpec, specDrift } from './service.js';

/** While the service has fewer running tasks than wanted, it is looked at this often. */
export const CONVERGING_CHECK_MS = 2000;

/** How long the longest-running task has run (ms, by its Swarm timestamp); null when none runs. */
function longestRunMs(tasks: readonly TaskState[], now: number): number | null {
  let best: number | null = null;
  for (const t of tasks) {
    if (t.state !== 'running') continue;
    const since = Date.parse(t.since);
    const ran = Number.isFinite(since) ? Math.max(0, now - since) : 0;
    if (best === null || ran > best) best = ran;
  }
  return best;
}

async function versionOf(swarm: SwarmPort, serviceId: string): Promise<string | null> {
  const lines = await swarm.serviceLogTail(serviceId, 200).catch(() => [] as string[]);
  for (const line of lines) {
    const version = /\bVersion (\d[\w.+-]*)/.exec(line)?.[1];
    if (version !== undefined) return `cloudflared version ${version}`;
  }
  return null;
}

export function serviceReconcileSteps(deps: TunnelKeeperDeps, swarmDeps: SwarmTunnelDeps, steps: KeeperSteps) {
  const { swarm } = swarmDeps;
  const { publish, report, failed, logRecovered } = steps;

  const reconcile = async (s: TunnelKeeperState, ctx: Ctx, replace: boolean, cause: string) => {
    if (deps.lifecycle.lifecycle !== 'enrolled') return s;
    const { tunnel } = s;
    try {
      if (tunnel.desired_state !== 'running' || tunnel.token === null || tunnel.id === null) {
        if (tunnel.desired_state === 'stopped') {
          const { found } = await scaleToZero(swarm);
          if (found !== null && found.replicas !== 0)
            ctx.log.info(
              { event: 'tunnel_service_scaled_down', why: 'desired state is stopped' },
              'tunnel service at 0',
            );
        }
        deps.board.publish('docker', { tunnelReplicas: null });
        const next = { ...s, containerId: null, running: false, failures: 0, reportedId: null, probation: null };
        ctx.timers.once('check', deps.checkIntervalMs, tunnelCheck());
        publish(next);
        return next;
      }
      const want = {
        image: deps.image,
        network: deps.network,
        createNetwork: deps.createNetwork,
        token: tunnel.token,
        tunnelId: tunnel.id,
        tunnelName: tunnel.name ?? tunnel.id,
        replicas: swarmDeps.replicas,
      };
      const spec = serviceSpec(want, await ensureOverlay(swarm, want, ctx.log));
      const found = await swarm.inspectService(TUNNEL_CONTAINER);
      let serviceId: string;
      let fresh = false;
      if (found === null) {
        serviceId = await swarm.createService(spec);
        fresh = true;
        ctx.log.info(
          { event: 'tunnel_service_created', cause, serviceId, replicas: spec.replicas, image: spec.image },
          'tunnel service created',
        );
        deps.board.publish('tunnel', { containersStarted: deps.board.read().tunnel.containersStarted + 1 });
      } else {
        serviceId = found.id;
        const drift = replace ? ['replacement requested'] : specDrift(found, spec);
        if (drift.length > 0) {
          await swarm.updateService(found.id, found.version, spec);
          ctx.log.info({ event: 'tunnel_service_updated', cause, serviceId, drift }, 'tunnel service spec repaired');
        }
      }
      const tasks = await swarm.listActiveTasks(serviceId);
      const running = runningTasks(tasks).get(serviceId) ?? 0;
      deps.board.publish('docker', { tunnelReplicas: { running, desired: spec.replicas } });
      const ran = longestRunMs(tasks, ctx.clock.now());
      const known = s.reportedId === serviceId && !fresh;
      let next: TunnelKeeperState = { ...s, containerId: serviceId, restartingChecks: 0, backoffUntil: null };
      if (ran === null) {
        // Swarm is (re)starting tasks: not the keeper's to fight; looked at again soon.
        next = { ...next, running: false, ...(fresh ? { reportedId: null } : {}) };
        ctx.timers.once('check', CONVERGING_CHECK_MS, tunnelCheck());
      } else if (!known && ran < deps.startConfirmMs) {
        next = { ...next, running: false, reportedId: fresh ? null : s.reportedId };
        ctx.timers.once('check', deps.startConfirmMs - ran, tunnelCheck());
      } else {
        const version = known ? s.version : await versionOf(swarm, serviceId);
        if (!known) {
          ctx.log.info(
            { event: 'tunnel_service_running', cause, serviceId, running, desired: spec.replicas, version },
            'tunnel service running',
          );
          report(ctx, 'running', tunnel.name, version);
        }
        logRecovered(s, ctx);
        next = { ...next, running: true, version, reportedId: serviceId, failures: 0, lastFailure: null };
        ctx.timers.once('check', running < spec.replicas ? CONVERGING_CHECK_MS : deps.checkIntervalMs, tunnelCheck());
      }
      publish(next);
      return next;
    } catch (err) {
      if (!isDockerError(err)) throw err;
      return failed(
        s,
        ctx,
        `${err.kind}: ${err.message}`,
        { event: 'tunnel_reconcile_failed', kind: err.kind, err },
        'tunnel service reconcile failed',
      );
    }
  };

  const takeDown = async (ctx: Ctx): Promise<void> => {
    const { found } = await scaleToZero(swarm);
    ctx.log.info({ event: 'tunnel_service_scaled_down', found: found !== null }, 'tunnel service scaled to 0');
  };

  return { reconcile, ...commandSteps(steps, reconcile, takeDown) };
}
