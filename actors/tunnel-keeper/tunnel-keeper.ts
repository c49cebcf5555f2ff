/**
 * TunnelKeeper: the one serialised owner of the cloudflared container and of tunnel_state.json (docs/protocol.md §7,
 * §8). Brings the tunnel back from cached state at start, before the master is reachable; obeys start/restart/
 * stop; reacts at once to its container's die/destroy events, with a periodic check as the safety net; retries
 * Docker failures with backoff instead of crashing. The removal at shutdown is the process's (teardown.ts).
 */
import { tunnelCheck, type TunnelKeeperMsg } from '../../messages/tunnel-keeper.js';
import { tell } from '../../supervisor/actor-ref.js';
import type { ActorDef } from '../../supervisor/child-spec.js';
import { restoredState, tunnelView, type TunnelKeeperState } from './keeper-state.js';
import { newKeeperMemory, type KeeperMemory } from './probation.js';

import { confirmSteps } from './keeper-confirm.js';
import { reconcileSteps } from './keeper-reconcile.js';
import { serviceReconcileSteps } from './keeper-swarm.js';
import { decommissionSteps } from './keeper-decommission.js';
import { AFTER_DIE_CHECK_MS, keeperSteps, WATCHED_ACTIONS, type Ctx, type TunnelKeeperDeps } from './keeper-steps.js';

export function tunnelKeeperDef(deps: TunnelKeeperDeps): ActorDef<TunnelKeeperState, TunnelKeeperMsg, KeeperMemory> {
  const steps = keeperSteps(deps);
  const { publish, report, exclusive } = steps;
  const { reconcile, assign, stop } = deps.swarm
    ? serviceReconcileSteps(deps, deps.swarm, steps)
    : reconcileSteps(deps, steps, confirmSteps(deps, steps));
  const decommission = decommissionSteps(deps, steps);
  /** Tunnel commands are not obeyed while a decommission is under way (the poller does not forward them either). */
  const refused = (ctx: Ctx, action: string): boolean => {
    if (deps.lifecycle.lifecycle === 'enrolled') return false;
    ctx.log.info({ event: 'command_ignored', action, why: 'decommissioning' }, 'tunnel command ignored');
    return true;
  };

  return {
    // Shared with the incarnation before (a Docker call it left running) and with the process's teardown.
    carry: newKeeperMemory,

    async init(ctx) {
      // From the state the earlier incarnation's last operation leaves (it may still be storing a new assignment).
      const tunnel = await exclusive(ctx, () => deps.store.loadTunnelState());
      const state = restoredState(tunnel);
      publish(state);
      if (deps.lifecycle.lifecycle !== 'enrolled') {
        ctx.log.info(
          { event: 'tunnel_not_restored', lifecycle: deps.lifecycle.lifecycle },
          'decommissioning: the tunnel is not restored',
        );
      } else if (tunnel.desired_state === 'running' && tunnel.token !== null) {
        ctx.log.info(
          { event: 'tunnel_restore', tunnelId: tunnel.id, tunnelName: tunnel.name },
          'restoring the tunnel from cached state',
        );
      }
      ctx.timers.once('check', 0, tunnelCheck());
      return state;
    },

    handlers: {
      'tunnel.start': (s, msg, ctx) =>
        refused(ctx, 'start_tunnel') ? s : exclusive(ctx, () => assign(s, ctx, msg.assignment, false, 'start_tunnel')),
      'tunnel.restart': (s, msg, ctx) =>
        refused(ctx, 'restart_tunnel')
          ? s
          : exclusive(ctx, () => assign(s, ctx, msg.assignment, true, 'restart_tunnel')),

      'tunnel.stop': (s, _msg, ctx) => (refused(ctx, 'stop_tunnel') ? s : stop(s, ctx)),

      async 'tunnel.decommission'(s, msg, ctx) {
        const { state, reply } = await decommission.step(s, ctx, msg.phase);
        tell(msg.replyTo, reply);
        return state;
      },

      'tunnel.update-config'(s, msg, ctx) {
        // The master pushes ingress to Cloudflare itself (docs/protocol.md §4.1, A11): nothing to do here.
        ctx.log.info(
          { event: 'command_noop', action: 'update_tunnel_config', rules: msg.ruleCount },
          'update_tunnel_config: nothing to do',
        );
        return s;
      },

      'tunnel.check': (s, _msg, ctx) =>
        exclusive(ctx, () => reconcile(s, ctx, false, s.lastEvent ?? (s.containerId === null ? 'restore' : 'check'))),

      'tunnel.container-event'(s, msg, ctx) {
        if (!WATCHED_ACTIONS.has(msg.action.split(':')[0] ?? '')) return s;
        if (deps.lifecycle.lifecycle !== 'enrolled') return s;
        if (msg.action.startsWith('health_status')) {
          // Docker does not restart an unhealthy container; say so loudly, the check decides about the rest.
          const healthy = msg.action.endsWith('healthy') && !msg.action.endsWith('unhealthy');
          ctx.log[healthy ? 'info' : 'warn'](
            { event: 'tunnel_container_health', action: msg.action, containerId: msg.containerId },
            'tunnel container health changed',
          );
          return s;
        }
        const action = msg.action;
        const fromOutside =
          s.stoppedFromOutside ||
          (msg.containerId === s.probation?.containerId && ['kill', 'stop', 'destroy'].includes(action));
        const next = { ...s, running: false, lastEvent: `container ${action}`, stoppedFromOutside: fromOutside };
        // During a failure's backoff the container's own exits (Docker restarting a refused token) must not pull the
        // next attempt earlier, or the backoff would never hold; its removal still does.
        const holding = s.backoffUntil !== null && ctx.clock.monotonic() < s.backoffUntil && action !== 'destroy';
        ctx.log[holding ? 'debug' : 'info'](
          { event: 'tunnel_container_event', action, containerId: msg.containerId },
          'tunnel container event',
        );
        if (!holding) ctx.timers.once('check', action === 'destroy' ? 0 : AFTER_DIE_CHECK_MS, tunnelCheck());
        return next;
      },

      'tunnel.service-event'(s, msg, ctx) {
        if (!deps.swarm || deps.lifecycle.lifecycle !== 'enrolled') return s;
        ctx.log.debug({ event: 'tunnel_service_event', action: msg.action }, 'tunnel service event');
        // Swarm restarts its tasks itself; the look that follows only repairs the spec. A failure's backoff holds.
        const holding = s.backoffUntil !== null && ctx.clock.monotonic() < s.backoffUntil;
        if (!holding) ctx.timers.once('check', AFTER_DIE_CHECK_MS, tunnelCheck());
        return { ...s, lastEvent: msg.action };
      },

      'tunnel.get'(s, msg) {
        tell(msg.replyTo, tunnelView(s));
        return s;
      },

      'identity.changed'(s, _msg, ctx) {
        // After every (re-)registration the master hears the tunnel's state at once (docs/protocol.md §3.3).
        if (s.tunnel.desired_state === 'running' && s.running) report(ctx, 'running', s.tunnel.name, s.version);
        else if (s.tunnel.desired_state === 'stopped') report(ctx, 'stopped', s.tunnel.name, null);
        // Down at this moment: the new session hears about the container once it is confirmed again.
        else if (s.tunnel.desired_state === 'running') return { ...s, reportedId: null };
        return s;
      },
    },
  };
}
