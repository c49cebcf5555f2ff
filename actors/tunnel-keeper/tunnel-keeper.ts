/**
 * TunnelKeeper: the one serialised owner of the cloudflared container and of tunnel_state.json (docs/protocol.md §7,
 * §8). Brings the tunnel back from cached state at start, before the master is reachable; obeys start/restart/
 * stop; reacts at once to its container's die/destroy events, with a periodic check as the safety net; retries
 * Docker failures with backoff instead of crashing. The removal at shutdown is the process's (teardown.ts).
 */
import { isDockerError, type DockerPort } from '../../docker/port.js';
import { ensureTunnel, readVersion } from './container.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import { masterTimestamp } from '../../master/envelope.js';
import { inTurn } from '../../supervisor/turns.js';
import { REDACTED } from '../../log/redact.js';
import { loudOnce } from '../../log/loud-once.js';
import { failureDelay } from '../../supervisor/backoff.js';
import { reporterEnqueue, type ReporterMsg } from '../../messages/reporter.js';
import { TUNNEL_WATCHED_ACTIONS, tunnelCheck, type TunnelKeeperMsg } from '../../messages/tunnel-keeper.js';
import type { TunnelAssignment } from '../../domain/tunnel.js';
import type { TunnelState } from '../../persistence/formats.js';
import type { StateStore } from '../../persistence/state-files.js';
import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { ActorContext, ActorDef } from '../../supervisor/child-spec.js';
import type { StatusBoard } from '../../domain/status-board.js';
import { restoredState, tunnelView, type TunnelKeeperState } from './keeper-state.js';
import {
  confirmDueIn,
  newKeeperMemory,
  probationFor,
  stillRunning,
  type KeeperMemory,
  type Probation,
} from './probation.js';

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
  random: () => number;
}

/**
 * Docker's own restarts get this many checks before the keeper replaces the container (docs/protocol.md §7.2 step 2).
 */
const RESTARTING_CHECKS = 3;

type Ctx = ActorContext<TunnelKeeperMsg, KeeperMemory>;
const FIRST_RETRY_MS = 2000;
const RETRY_CAP_MS = 120_000;
/** After a die, give Docker's restart policy a moment to claim the container before deciding to recreate it. */
const AFTER_DIE_CHECK_MS = 300;
const WATCHED_ACTIONS = new Set(TUNNEL_WATCHED_ACTIONS);
/** How long a keeper waits for an earlier incarnation's Docker operation (an image pull may take this long). */
const PREVIOUS_OPERATION_WAIT_MS = 5 * 60_000;

export function tunnelKeeperDef(deps: TunnelKeeperDeps): ActorDef<TunnelKeeperState, TunnelKeeperMsg, KeeperMemory> {
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

  const logRecovered = (s: TunnelKeeperState, ctx: Ctx): void => {
    if (s.failures > 0)
      ctx.log.info({ event: 'tunnel_recovered', failures: s.failures }, 'tunnel container reconciled after failures');
  };

  /** The run under probation lasted: read the version, tell the master once, back to the periodic check. */
  const confirmed = async (s: TunnelKeeperState, ctx: Ctx, p: Probation): Promise<TunnelKeeperState> => {
    const { tunnel } = s;
    const version = await readVersion(deps.docker, p.containerId);
    ctx.carried.created = null;
    if (p.created) {
      deps.board.publish('tunnel', {
        containersStarted: deps.board.read().tunnel.containersStarted + 1,
        lastStartCause: p.cause,
      });
      ctx.log.info(
        {
          event: 'tunnel_started',
          cause: p.cause,
          containerId: p.containerId,
          tunnelId: tunnel.id,
          tunnelName: tunnel.name,
          version,
          image: deps.image,
        },
        'tunnel container running',
      );
    } else {
      // Found running (a previous run or incarnation of the agent started it): the master hears that it runs.
      ctx.log.info(
        { event: 'tunnel_adopted', containerId: p.containerId, tunnelName: tunnel.name, version },
        'tunnel container already running; adopted',
      );
    }
    report(ctx, 'running', tunnel.name, version);
    logRecovered(s, ctx);
    ctx.timers.once('check', deps.checkIntervalMs, tunnelCheck());
    const next = {
      ...s,
      containerId: p.containerId,
      running: true,
      version,
      reportedId: p.containerId,
      probation: null,
      failures: 0,
      lastFailure: null,
      backoffUntil: null,
    };
    publish(next);
    return next;
  };

  /** A run under probation: confirmed once it has lasted startConfirmMs, otherwise looked at again then. */
  const confirmOrWait = async (s: TunnelKeeperState, ctx: Ctx, p: Probation): Promise<TunnelKeeperState> => {
    const dueInMs = confirmDueIn(p, ctx.clock.now(), deps.startConfirmMs);
    if (dueInMs === 0) return confirmed(s, ctx, p);
    ctx.timers.once('check', dueInMs, tunnelCheck());
    publish(s);
    return s;
  };

  /**
   * A container under probation looked at again: the same run still going after startConfirmMs → confirmed; going
   * but not that long yet → another look then; removed or stopped from outside → make a new one at once; restarted
   * by Docker (it exited by itself: a refused token, a crash) → tunnel_start_failed with Docker's and cloudflared's
   * own account, a new look at once the first time, with backoff after that.
   */
  const reviewProbation = async (
    s: TunnelKeeperState,
    ctx: Ctx,
  ): Promise<{ done: boolean; state: TunnelKeeperState }> => {
    const p = s.probation;
    if (p === null) return { done: false, state: s };
    const c = await deps.docker.inspectContainer(p.containerId);
    if (stillRunning(c, p)) {
      return { done: true, state: await confirmOrWait(s, ctx, p) };
    }
    const cleared = { ...s, running: false, probation: null, stoppedFromOutside: false };
    // Removed, killed or stopped by someone else: a new one at once, not a failure of the tunnel.
    if (c === null || s.stoppedFromOutside) return { done: false, state: cleared };
    const token = s.tunnel.token;
    const logTail = (await deps.docker.logTail(p.containerId, 5).catch(() => [])).map((l) =>
      (token ? l.split(token).join(REDACTED) : l).slice(0, 300),
    );
    const restarted = c.restarting || c.restartCount !== p.restartCount;
    const fields = {
      event: 'tunnel_start_failed',
      containerId: p.containerId,
      status: c.status,
      exitCode: c.exitCode,
      restarts: c.restartCount,
      confirmMs: deps.startConfirmMs,
      restartedByDocker: restarted,
      logTail,
    };
    const text = 'tunnel container exited during its start';
    if (s.failures > 0) return { done: true, state: failed(cleared, ctx, 'start_failed', fields, text) };
    return { done: false, state: noteFailure(cleared, ctx, 'start_failed', fields, text, null) };
  };

  /** Brings Docker in line with the desired state; Docker failures become a backoff, not a crash. */
  const reconcile = async (
    current: TunnelKeeperState,
    ctx: Ctx,
    replace: boolean,
    cause: string,
  ): Promise<TunnelKeeperState> => {
    let s = current;
    const { tunnel } = s;
    let next: TunnelKeeperState;
    try {
      if (tunnel.desired_state !== 'running' || tunnel.token === null || tunnel.id === null) {
        if (tunnel.desired_state === 'stopped' && (await deps.docker.inspectContainer(TUNNEL_CONTAINER))) {
          ctx.log.info(
            { event: 'tunnel_container_removing', why: 'desired state is stopped' },
            'removing an unwanted tunnel container',
          );
          await deps.docker.stopAndRemove(TUNNEL_CONTAINER, deps.stopTimeoutS);
        }
        next = { ...s, containerId: null, running: false, failures: 0, reportedId: null, probation: null };
      } else {
        if (!replace) {
          const reviewed = await reviewProbation(s, ctx);
          if (reviewed.done) return reviewed.state;
          s = reviewed.state;
        }
        const outcome = await ensureTunnel(
          deps.docker,
          {
            image: deps.image,
            network: deps.network,
            createNetwork: deps.createNetwork,
            token: tunnel.token,
            tunnelId: tunnel.id,
            tunnelName: tunnel.name ?? tunnel.id,
          },
          {
            replace,
            leaveRestarting: s.restartingChecks < RESTARTING_CHECKS,
            stopTimeoutS: deps.stopTimeoutS,
            log: ctx.log,
          },
        );
        if (outcome.kind === 'restarting') {
          if (s.restartingChecks === 0)
            ctx.log.info(
              { event: 'tunnel_restarting', containerId: outcome.containerId },
              'docker is restarting the tunnel container',
            );
          const delayMs = failureDelay(s.restartingChecks + 1, FIRST_RETRY_MS, RETRY_CAP_MS, deps.random());
          ctx.timers.once('check', delayMs, tunnelCheck());
          next = {
            ...s,
            containerId: outcome.containerId,
            running: false,
            probation: null,
            restartingChecks: s.restartingChecks + 1,
            backoffUntil: ctx.clock.monotonic() + delayMs,
          };
          publish(next);
          return next;
        }
        if (outcome.containerId !== s.reportedId) {
          // Not yet told to the master: a run of startConfirmMs first.
          const probation = probationFor(ctx.carried, {
            run: { containerId: outcome.containerId, startedAt: outcome.startedAt, restartCount: outcome.restartCount },
            created: outcome.kind === 'started',
            cause,
            now: ctx.clock.now(),
            firstLook: s.containerId === null,
          });
          const waiting = {
            ...s,
            containerId: outcome.containerId,
            running: false,
            probation,
            stoppedFromOutside: false,
            backoffUntil: null,
            lastEvent: null,
            restartingChecks: 0,
          };
          return await confirmOrWait(waiting, ctx, probation);
        }
        next = {
          ...s,
          containerId: outcome.containerId,
          running: true,
          version: s.version ?? (await readVersion(deps.docker, outcome.containerId)),
          lastEvent: null,
          restartingChecks: 0,
          failures: 0,
          lastFailure: null,
          backoffUntil: null,
        };
        logRecovered(s, ctx);
      }
      ctx.timers.once('check', deps.checkIntervalMs, tunnelCheck());
    } catch (err) {
      if (!isDockerError(err)) throw err;
      return failed(
        s,
        ctx,
        `${err.kind}: ${err.message}`,
        { event: 'tunnel_reconcile_failed', kind: err.kind, err },
        'tunnel reconcile failed',
      );
    }
    publish(next);
    return next;
  };

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

  return {
    // Shared with the incarnation before (a Docker call it left running) and with the process's teardown.
    carry: newKeeperMemory,

    async init(ctx) {
      // From the state the earlier incarnation's last operation leaves (it may still be storing a new assignment).
      const tunnel = await exclusive(ctx, () => deps.store.loadTunnelState());
      const state = restoredState(tunnel);
      publish(state);
      if (tunnel.desired_state === 'running' && tunnel.token !== null) {
        ctx.log.info(
          { event: 'tunnel_restore', tunnelId: tunnel.id, tunnelName: tunnel.name },
          'restoring the tunnel from cached state',
        );
      }
      ctx.timers.once('check', 0, tunnelCheck());
      return state;
    },

    handlers: {
      'tunnel.start': (s, msg, ctx) => exclusive(ctx, () => assign(s, ctx, msg.assignment, false, 'start_tunnel')),
      'tunnel.restart': (s, msg, ctx) => exclusive(ctx, () => assign(s, ctx, msg.assignment, true, 'restart_tunnel')),

      'tunnel.stop': (s, _msg, ctx) =>
        exclusive(ctx, async () => {
          const name = s.tunnel.name;
          const stopped: TunnelState = { ...s.tunnel, desired_state: 'stopped' };
          await persist(stopped);
          try {
            await deps.docker.stopAndRemove(TUNNEL_CONTAINER, deps.stopTimeoutS);
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
        }),

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
