/**
 * The keeper's reconcile in Swarm mode (docs/swarm.md): the tunnel service's spec brought in line with the desired
 * state (created when gone, updated when someone scaled it, changed its image or the token changed, scaled to 0 when
 * the tunnel is stopped). Tasks are Swarm's: a task that dies is Swarm's to restart, and the keeper only watches the
 * count. The master hears `running` once a task of the current spec has run for the start confirm time, and again
 * only after the service was created, restarted, or given another token or image.
 */
import { RUNNING_TASK, type SwarmPort, type TaskState } from '../../docker/swarm-port.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import { tunnelCheck } from '../../messages/tunnel-keeper.js';
import type { TunnelKeeperState } from './keeper-state.js';
import { commandSteps } from './keeper-commands.js';
import { tunnelWant } from './container.js';
import type { Ctx, KeeperSteps, SwarmTunnelDeps, TunnelKeeperDeps } from './keeper-steps.js';
import { ensureOverlay, scaleToZero, serviceSpec, specDrift, taskOf } from './tunnel-service.js';

/** While the service has fewer running tasks than wanted, it is looked at this often. */
export const CONVERGING_CHECK_MS = 2000;

/**
 * How long the service may go without a confirmed task (an image no node has, a token cloudflared refuses, tasks
 * that keep exiting) before one warning; by our own clock, so events that bring checks earlier do not count.
 */
export const NOT_RUNNING_WARN_MS = 30_000;

/**
 * When each running task was first seen running, on our own monotonic clock: a task's timestamp is its node's
 * clock, which may be off from ours.
 */
function seenRunning(tasks: readonly TaskState[], before: ReadonlyMap<string, number>, now: number) {
  const seen = new Map<string, number>();
  for (const t of tasks) if (t.state === RUNNING_TASK) seen.set(t.id, before.get(t.id) ?? now);
  return seen;
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
  const { publish, report, reconcileFailed, logRecovered } = steps;

  const reconcile = async (s: TunnelKeeperState, ctx: Ctx, replace: boolean, cause: string) => {
    if (deps.lifecycle.lifecycle !== 'enrolled') return s;
    const { tunnel } = s;
    try {
      if (tunnel.desired_state !== 'running' || tunnel.token === null || tunnel.id === null) {
        if (tunnel.desired_state === 'stopped') {
          const { found } = await scaleToZero(swarm, true);
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
        ...tunnelWant(deps, { token: tunnel.token, id: tunnel.id, name: tunnel.name }),
        replicas: swarmDeps.replicas,
      };
      const spec = serviceSpec(want, await ensureOverlay(swarm, want, ctx.log));
      const found = await swarm.inspectService(TUNNEL_CONTAINER);
      let serviceId: string;
      let forceUpdate = found?.forceUpdate ?? 0;
      // A new or changed spec is told to the master again once its own tasks run (a new token is a new tunnel).
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
          // A restart of an unchanged spec: Swarm replaces the tasks only when ForceUpdate moves.
          forceUpdate = found.forceUpdate + (replace ? 1 : 0);
          await swarm.updateService(found.id, found.version, { ...spec, forceUpdate });
          fresh = replace || drift.includes('token') || drift.includes('image');
          ctx.log.info({ event: 'tunnel_service_updated', cause, serviceId, drift }, 'tunnel service spec repaired');
        }
      }
      const active = await swarm.listActiveTasks(serviceId);
      const tasks = active.filter((t) => taskOf(t, { ...spec, forceUpdate }));
      const now = ctx.clock.monotonic();
      const taskSeen = seenRunning(tasks, s.taskSeen, now);
      const running = taskSeen.size;
      deps.board.publish('docker', { tunnelReplicas: { running, desired: spec.replicas } });
      const ran = taskSeen.size === 0 ? null : now - Math.min(...taskSeen.values());
      const known = s.reportedId === serviceId && !fresh;
      let next: TunnelKeeperState = { ...s, containerId: serviceId, taskSeen, backoffUntil: null };
      const confirmed = ran !== null && (known || ran >= deps.startConfirmMs);
      const since = confirmed ? null : (s.unconfirmedSince ?? now);
      const warn = since !== null && !s.unconfirmedWarned && now - since >= NOT_RUNNING_WARN_MS;
      next = { ...next, unconfirmedSince: since, unconfirmedWarned: confirmed ? false : s.unconfirmedWarned || warn };
      if (warn)
        ctx.log.warn(
          {
            event: 'tunnel_service_not_running',
            serviceId,
            tasks: active.map((t) => ({ state: t.state, error: t.error, node: t.nodeId })),
          },
          'no task of the tunnel service has run long enough',
        );
      if (ran === null) {
        // Swarm is (re)starting tasks: not the keeper's to fight. Looked at again soon, then less often.
        const waited = since === null ? 0 : now - since;
        const delayMs = Math.min(Math.max(CONVERGING_CHECK_MS, waited / 2), deps.checkIntervalMs);
        next = { ...next, running: false, ...(fresh ? { reportedId: null } : {}) };
        ctx.timers.once('check', delayMs, tunnelCheck());
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
        if (s.unconfirmedWarned)
          ctx.log.info({ event: 'tunnel_service_converged', serviceId, running }, 'tunnel service tasks run again');
        next = { ...next, running: true, version, reportedId: serviceId, failures: 0, lastFailure: null };
        ctx.timers.once('check', running < spec.replicas ? CONVERGING_CHECK_MS : deps.checkIntervalMs, tunnelCheck());
      }
      publish(next);
      return next;
    } catch (err) {
      return reconcileFailed(s, ctx, err, 'tunnel service reconcile failed');
    }
  };

  const takeDown = async (ctx: Ctx): Promise<void> => {
    const { found } = await scaleToZero(swarm, true);
    ctx.log.info({ event: 'tunnel_service_scaled_down', found: found !== null }, 'tunnel service scaled to 0');
  };

  return { reconcile, ...commandSteps(steps, reconcile, takeDown) };
}
