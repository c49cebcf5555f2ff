/**
 * The start confirm (docs/protocol.md §7.2 step 5) as the keeper carries it out: a run under probation is confirmed
 * once it has lasted, told to the master once, and a run that ended by itself is a start failure.
 */
import { readVersion } from './container.js';
import { REDACTED } from '../../log/redact.js';
import { tunnelCheck } from '../../messages/tunnel-keeper.js';
import { type TunnelKeeperState } from './keeper-state.js';
import { confirmDueIn, stillRunning, type Probation } from './probation.js';

import { type Ctx, type KeeperSteps, type TunnelKeeperDeps } from './keeper-steps.js';

export type ConfirmSteps = ReturnType<typeof confirmSteps>;

export function confirmSteps(deps: TunnelKeeperDeps, steps: KeeperSteps) {
  const { publish, report, noteFailure, failed, logRecovered } = steps;
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

  return { confirmed, confirmOrWait, reviewProbation };
}
