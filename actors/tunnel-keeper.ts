/**
 * TunnelKeeper: the one serialised owner of the cloudflared container and of tunnel_state.json (protocol.md §7,
 * §8). Brings the tunnel back from cached state at start, before the master is reachable; obeys start/restart/
 * stop; reacts at once to its container's die/destroy events, with a periodic check as the safety net; retries
 * Docker failures with backoff instead of crashing; removes the container on shutdown unless told to keep it.
 */
import { isDockerError, type DockerPort } from '../lib/docker/port.js';
import { ensureTunnel, readVersion, TUNNEL_CONTAINER } from '../lib/docker/tunnel-container.js';
import { masterTimestamp } from '../lib/master/envelope.js';
import { failureDelay } from '../lib/retry.js';
import { reporterEnqueue, type ReporterMsg } from '../messages/reporter.js';
import { TUNNEL_WATCHED_ACTIONS, tunnelCheck, type TunnelAssignment, type TunnelKeeperMsg, type TunnelView } from '../messages/tunnel.js';
import type { TunnelState } from '../persistence/formats.js';
import type { StateStore } from '../persistence/state-files.js';
import { tell, type ActorRef } from '../supervisor/actor-ref.js';
import type { ActorContext, ActorDef } from '../supervisor/child-spec.js';
import type { StatusBoard } from '../supervisor/status-board.js';

export interface TunnelKeeperDeps {
  docker: DockerPort;
  store: StateStore;
  reporter: ActorRef<ReporterMsg>;
  board: StatusBoard;
  image: string;
  network: string;
  createNetwork: boolean;
  checkIntervalMs: number;
  removeOnShutdown: boolean;
  /** `docker stop` grace for replacements (protocol: 10 s) and for shutdown (must fit the shutdown budget). */
  stopTimeoutS: number;
  shutdownStopTimeoutS: number;
  random: () => number;
}

export interface TunnelKeeperState {
  tunnel: TunnelState;
  containerId: string | null;
  running: boolean;
  version: string | null;
  failures: number;
  /** The last failure's kind and message: the same failure again is logged at debug while it lasts. */
  lastFailure: string | null;
  /** The container event that made the next check necessary, so a recreate can say why. */
  lastEvent: string | null;
  /** Checks in a row that found Docker restarting the container; a crash loop (a dead token) ends in a recreate. */
  restartingChecks: number;
}

/** Docker's own restarts get this many checks before the keeper replaces the container (protocol.md §7.2 step 2). */
const RESTARTING_CHECKS = 3;

type Ctx = ActorContext<TunnelKeeperMsg>;
const FIRST_RETRY_MS = 2000;
const RETRY_CAP_MS = 120_000;
/** After a die, give Docker's restart policy a moment to claim the container before deciding to recreate it. */
const AFTER_DIE_CHECK_MS = 300;
const WATCHED_ACTIONS = new Set(TUNNEL_WATCHED_ACTIONS);

export function tunnelKeeperDef(deps: TunnelKeeperDeps): ActorDef<TunnelKeeperState, TunnelKeeperMsg> {
  const view = (s: TunnelKeeperState): TunnelView => ({
    desiredState: s.tunnel.desired_state, name: s.tunnel.name, id: s.tunnel.id, containerId: s.containerId, containerRunning: s.running, version: s.version,
  });
  const publish = (s: TunnelKeeperState): void => {
    deps.board.publish('tunnel', { desiredState: s.tunnel.desired_state, name: s.tunnel.name, id: s.tunnel.id, containerRunning: s.running, version: s.version });
  };
  const report = (ctx: Ctx, status: 'running' | 'stopped', name: string | null, version: string | null): void => {
    tell(deps.reporter, reporterEnqueue({ type: 'tunnel_status', status, name, version, timestamp: masterTimestamp(ctx.clock.now()) }));
  };
  const persist = async (tunnel: TunnelState): Promise<void> => { await deps.store.saveTunnelState(tunnel); };

  /** Brings Docker in line with the desired state; Docker failures become a backoff, not a crash. */
  const reconcile = async (s: TunnelKeeperState, ctx: Ctx, replace: boolean, cause: string): Promise<TunnelKeeperState> => {
    const { tunnel } = s;
    let next: TunnelKeeperState;
    try {
      if (tunnel.desired_state !== 'running' || tunnel.token === null || tunnel.id === null) {
        if (tunnel.desired_state === 'stopped' && (await deps.docker.inspectContainer(TUNNEL_CONTAINER))) {
          ctx.log.info({ event: 'tunnel_container_removing', why: 'desired state is stopped' }, 'removing a tunnel container that should not run');
          await deps.docker.stopAndRemove(TUNNEL_CONTAINER, deps.stopTimeoutS);
        }
        next = { ...s, containerId: null, running: false, failures: 0 };
      } else {
        const outcome = await ensureTunnel(deps.docker, {
          image: deps.image, network: deps.network, createNetwork: deps.createNetwork, token: tunnel.token, tunnelId: tunnel.id, tunnelName: tunnel.name ?? tunnel.id,
        }, { replace, leaveRestarting: s.restartingChecks < RESTARTING_CHECKS, stopTimeoutS: deps.stopTimeoutS, log: ctx.log });
        if (outcome.kind === 'restarting') {
          if (s.restartingChecks === 0) ctx.log.info({ event: 'tunnel_restarting', containerId: outcome.containerId }, 'Docker is restarting the tunnel container; leaving it to the engine for now');
          ctx.timers.once('check', failureDelay(s.restartingChecks + 1, FIRST_RETRY_MS, RETRY_CAP_MS, deps.random()), tunnelCheck());
          next = { ...s, containerId: outcome.containerId, running: false, restartingChecks: s.restartingChecks + 1 };
          publish(next);
          return next;
        }
        let version = outcome.created ? outcome.version : s.version;
        if (!outcome.created && version === null) version = await readVersion(deps.docker, outcome.containerId);
        next = { ...s, containerId: outcome.containerId, running: true, version, failures: 0, lastEvent: null, restartingChecks: 0 };
        if (!outcome.created && s.containerId === null) {
          // Adopted from a previous run or incarnation: the master hears that it runs, whatever came first.
          ctx.log.info({ event: 'tunnel_adopted', containerId: outcome.containerId, tunnelName: tunnel.name, version }, 'tunnel container already running; adopted');
          report(ctx, 'running', tunnel.name, version);
        }
        if (outcome.created) {
          deps.board.publish('tunnel', { containersStarted: deps.board.read().tunnel.containersStarted + 1, lastStartCause: cause });
          ctx.log.info({ event: 'tunnel_started', cause, containerId: outcome.containerId, tunnelId: tunnel.id, tunnelName: tunnel.name, version, image: deps.image }, 'tunnel container running');
          report(ctx, 'running', tunnel.name, version);
        }
      }
      if (s.failures > 0) ctx.log.info({ event: 'tunnel_recovered', failures: s.failures }, 'tunnel container reconciled after failures');
      ctx.timers.once('check', deps.checkIntervalMs, tunnelCheck());
    } catch (err) {
      if (!isDockerError(err)) throw err;
      const failures = s.failures + 1;
      const delayMs = failureDelay(failures, FIRST_RETRY_MS, RETRY_CAP_MS, deps.random());
      const fields = { event: 'tunnel_reconcile_failed', failures, retryInMs: delayMs, kind: err.kind, err };
      const reason = `${err.kind}: ${err.message}`;
      if (failures === 1) ctx.log.error(fields, 'could not bring the tunnel container to its desired state; retrying with backoff (the same failure again is logged at debug)');
      else if (reason === s.lastFailure) ctx.log.debug(fields, 'tunnel container still not in its desired state');
      else ctx.log.warn(fields, 'tunnel container still not in its desired state');
      ctx.timers.once('check', delayMs, tunnelCheck());
      next = { ...s, running: false, failures, lastFailure: reason };
    }
    publish(next);
    return next;
  };

  const assign = async (s: TunnelKeeperState, ctx: Ctx, a: TunnelAssignment, forceReplace: boolean, action: string): Promise<TunnelKeeperState> => {
    if (typeof a.token !== 'string' || a.token.trim() === '') {
      ctx.log.error({ event: 'command_rejected', action, reason: 'empty or non-string token' }, 'tunnel command without a usable token; nothing changed');
      return s;
    }
    const changed = a.token !== s.tunnel.token || a.tunnelId !== s.tunnel.id;
    // Persist first: a crash half-way is then repaired by the check, not lost (protocol.md §4).
    const tunnel: TunnelState = { token: a.token, id: a.tunnelId, name: a.tunnelName, desired_state: 'running' };
    await persist(tunnel);
    ctx.log.info({ event: 'tunnel_assigned', action, tunnelId: a.tunnelId, tunnelName: a.tunnelName, replace: forceReplace || changed }, 'tunnel assignment stored');
    return reconcile({ ...s, tunnel, version: changed ? null : s.version }, ctx, forceReplace || changed, action);
  };

  return {
    async init(ctx) {
      const tunnel = await deps.store.loadTunnelState();
      const state: TunnelKeeperState = { tunnel, containerId: null, running: false, version: null, failures: 0, lastFailure: null, lastEvent: null, restartingChecks: 0 };
      publish(state);
      if (tunnel.desired_state === 'running' && tunnel.token !== null) {
        ctx.log.info({ event: 'tunnel_restore', tunnelId: tunnel.id, tunnelName: tunnel.name }, 'restoring the tunnel from cached state');
      }
      ctx.timers.once('check', 0, tunnelCheck());
      return state;
    },

    handlers: {
      'tunnel.start': (s, msg, ctx) => assign(s, ctx, msg.assignment, false, 'start_tunnel'),
      'tunnel.restart': (s, msg, ctx) => assign(s, ctx, msg.assignment, true, 'restart_tunnel'),

      async 'tunnel.stop'(s, _msg, ctx) {
        const name = s.tunnel.name;
        const stopped: TunnelState = { ...s.tunnel, desired_state: 'stopped' };
        await persist(stopped);
        try {
          await deps.docker.stopAndRemove(TUNNEL_CONTAINER, deps.stopTimeoutS);
        } catch (err) {
          if (!isDockerError(err)) throw err;
          ctx.log.error({ event: 'tunnel_stop_failed', err }, 'could not remove the tunnel container; the check will retry');
          ctx.timers.once('check', FIRST_RETRY_MS, tunnelCheck());
        }
        ctx.log.info({ event: 'tunnel_stopped', tunnelName: name }, 'tunnel stopped on command');
        report(ctx, 'stopped', name, null);
        const cleared: TunnelState = { token: null, id: null, name: null, desired_state: 'stopped' };
        await persist(cleared);
        const next = { ...s, tunnel: cleared, containerId: null, running: false, version: null };
        publish(next);
        return next;
      },

      'tunnel.update-config'(s, msg, ctx) {
        // The master pushes ingress to Cloudflare itself (protocol.md §4.1, A11): nothing to do here.
        ctx.log.info({ event: 'command_noop', action: 'update_tunnel_config', rules: msg.ruleCount }, 'update_tunnel_config accepted; the master applies ingress itself');
        return s;
      },

      'tunnel.check': (s, _msg, ctx) => reconcile(s, ctx, false, s.lastEvent ?? (s.containerId === null ? 'restore' : 'check')),

      'tunnel.container-event'(s, msg, ctx) {
        if (!WATCHED_ACTIONS.has(msg.action.split(':')[0] ?? '')) return s;
        if (msg.action.startsWith('health_status')) {
          // Docker does not restart an unhealthy container; say so loudly, the check decides about the rest.
          const healthy = msg.action.endsWith('healthy') && !msg.action.endsWith('unhealthy');
          ctx.log[healthy ? 'info' : 'warn']({ event: 'tunnel_container_health', action: msg.action, containerId: msg.containerId }, 'tunnel container health changed');
          return s;
        }
        ctx.log.info({ event: 'tunnel_container_event', action: msg.action, containerId: msg.containerId }, 'tunnel container event');
        ctx.timers.once('check', msg.action === 'destroy' ? 0 : AFTER_DIE_CHECK_MS, tunnelCheck());
        return { ...s, running: false, lastEvent: `container ${msg.action}` };
      },

      'tunnel.get'(s, msg) {
        tell(msg.replyTo, view(s));
        return s;
      },

      'identity.changed'(s, _msg, ctx) {
        // After every (re-)registration the master hears the tunnel's state at once (protocol.md §3.3).
        if (s.tunnel.desired_state === 'running' && s.running) report(ctx, 'running', s.tunnel.name, s.version);
        else if (s.tunnel.desired_state === 'stopped') report(ctx, 'stopped', s.tunnel.name, null);
        return s;
      },
    },

    async shutdown(s, ctx, deadline) {
      if (!deps.removeOnShutdown) {
        ctx.log.info({ event: 'tunnel_left_running' }, 'shutdown: leaving the tunnel container running (TUNNEL_REMOVE_ON_SHUTDOWN=false)');
        return;
      }
      try {
        // cloudflared gets what is left of the budget to drain, keeping a second for the removal itself.
        const leftS = Math.floor((deadline - ctx.clock.now()) / 1000) - 1;
        await deps.docker.stopAndRemove(TUNNEL_CONTAINER, Math.max(1, Math.min(deps.shutdownStopTimeoutS, leftS)));
        ctx.log.info({ event: 'tunnel_removed_on_shutdown', containerId: s.containerId }, 'shutdown: tunnel container stopped and removed');
      } catch (err) {
        ctx.log.error({ event: 'tunnel_remove_failed', err }, 'shutdown: could not remove the tunnel container');
      }
    },
  };
}
