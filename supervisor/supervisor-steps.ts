/**
 * A supervisor's steps, shared by its handlers: starting and stopping a child incarnation, the group a strategy
 * restarts with a child, and the restart's scheduling (backoff, intensity, the crash-loop story in the log).
 */
import type { Ref } from 'nact';
import type Logger from 'bunyan';
import { childDown, childExit, childStable, restartDue, type SupervisorMsg } from './protocol.js';
import { tell } from './actor-ref.js';
import { startIncarnation } from './actor-host.js';
import type { RunningIncarnation } from './incarnation.js';
import { backoffDelay, nextAttempt } from './backoff.js';
import type { ActorContext, ChildSpec, Message, RuntimeSettings, SupervisorOptions } from './child-spec.js';
import { crashLoopLevel } from './crash-loop.js';
import { IntensityWindow } from './intensity.js';

export class IntensityExceededError extends Error {
  override readonly name = 'IntensityExceededError';
  constructor(
    readonly supervisor: string,
    readonly restartsInWindow: number,
    readonly lastOffender: string,
  ) {
    super(`supervisor ${supervisor}: ${restartsInWindow} restarts within its period (last: ${lastOffender})`);
  }
}

export interface ChildRecord {
  readonly spec: ChildSpec;
  inc: RunningIncarnation<Message> | undefined;
  last: RunningIncarnation<Message> | undefined;
  /** Backoff attempt of the next crash. */
  attempt: number;
  /**
   * Since when (monotonic ms) the child has run without a crash: set at the first start after a crash, and left as
   * it is by deliberate restarts (its own request, a sibling's group), so a crash loop ends after a crash-free spell
   * even when, say, a proxy closing a stream every 10 minutes restarts its reader more often than that.
   */
  crashFreeSince: number | null;
  /** A crash happened since the last start. */
  crashedSinceStart: boolean;
}

export interface SupervisorState {
  readonly records: ChildRecord[];
  readonly window: IntensityWindow;
  stopping: boolean;
}

export interface SupervisorDeps extends SupervisorOptions {
  readonly id: string;
  readonly children: readonly ChildSpec[];
  readonly runtime: RuntimeSettings;
  /** Logger without actor fields; each child incarnation gets a child logger with `{actor, gen}`. */
  readonly baseLog: Logger;
}

export type Ctx = ActorContext<SupervisorMsg>;
/** Kept back from each child's share of the deadline for the supervisor's own bookkeeping. */
export const SHUTDOWN_MARGIN_MS = 50;
/** A crash loop's end is looked at again this soon when a deliberate restart was under way. */
export const STABLE_RECHECK_MS = 1000;

export type SupervisorSteps = ReturnType<typeof supervisorSteps>;

export function supervisorSteps(deps: SupervisorDeps) {
  const { runtime, baseLog, id: name } = deps;
  // Every supervision time (starts, crashes, windows, restarts) is monotonic: a step of the system clock must not
  // stretch or empty the intensity window, nor keep a backoff from resetting.
  const now = (): number => runtime.clock.monotonic();

  const startChild = (rec: ChildRecord, ctx: Ctx, sinceCrashMs: number | undefined): void => {
    const cell = rec.spec.cell;
    const gen = ++cell.gen;
    const inc = startIncarnation({
      parent: ctx.runtimeHandle as Ref<unknown>,
      cell,
      def: rec.spec.def,
      gen,
      log: baseLog.child({ actor: cell.id, gen }),
      runtime:
        rec.spec.handlerTimeoutMs === undefined ? runtime : { ...runtime, handlerTimeoutMs: rec.spec.handlerTimeoutMs },
      hooks: {
        onCrash: (reason, msgType, repeat) => {
          tell(ctx.self, childDown(cell.id, gen, reason, msgType, repeat));
        },
        onExit: (restart) => {
          tell(ctx.self, childExit(cell.id, gen, restart));
        },
      },
    });
    rec.inc = inc;
    rec.last = inc;
    if (gen > 1) cell.restartsTotal++;
    cell.status = 'running';
    cell.startedAt = now();
    cell.backoffMs = null;
    cell.restartAt = null;
    cell.windowMs = deps.limit.periodMs;
    cell.maxBackoffMs = rec.spec.backoff.maxMs;
    cell.resetAfterMs = rec.spec.backoff.resetAfterMs;
    cell.bind(inc);
    for (const [cause, count] of cell.pendingDrops) {
      baseLog[crashLoopLevel(cell.repeatCrashes, 'warn')](
        { event: 'messages_dropped', actor: cell.id, gen: gen - 1, count, cause },
        'messages dropped while the actor was down',
      );
    }
    cell.pendingDrops.clear();
    cell.episodeDrops.clear();
    baseLog[crashLoopLevel(cell.repeatCrashes, 'info')](
      { event: 'actor_started', supervisor: name, child: cell.id, gen, attempt: rec.attempt, sinceCrashMs },
      'actor started',
    );
    if (rec.crashedSinceStart || rec.crashFreeSince === null) rec.crashFreeSince = cell.startedAt;
    if (rec.crashedSinceStart && cell.repeatCrashes > 0)
      ctx.timers.once(`stable:${cell.id}`, rec.spec.backoff.resetAfterMs, childStable(cell.id, gen));
    rec.crashedSinceStart = false;
  };

  const stopChildNow = (rec: ChildRecord): void => {
    rec.inc?.kill();
    rec.inc = undefined;
  };

  /** The children a restart of `rec` takes along, in start order. */
  const groupOf = (state: SupervisorState, rec: ChildRecord): ChildRecord[] => {
    const index = state.records.indexOf(rec);
    switch (deps.strategy) {
      case 'one_for_one':
        return [rec];
      // A temporary child is taken along while it runs, or while it waits for a restart that an earlier group began.
      case 'rest_for_one':
        return state.records
          .slice(index)
          .filter((r) => r === rec || r.spec.restart !== 'temporary' || r.inc || r.spec.cell.status === 'backing_off');
      case 'one_for_all':
        return state.records.filter(
          (r) => r === rec || r.spec.restart !== 'temporary' || r.inc || r.spec.cell.status === 'backing_off',
        );
    }
  };

  const scheduleRestart = (
    state: SupervisorState,
    rec: ChildRecord,
    ctx: Ctx,
    cause: 'crash' | 'exit' | 'requested',
  ): SupervisorState => {
    const cell = rec.spec.cell;
    const t = now();
    // A requested restart is the actor's own decision, rate-limited by the actor itself: it is not a failure.
    if (cause !== 'requested' && state.window.record(t)) {
      const restartsInWindow = state.window.count(t);
      baseLog.fatal(
        {
          event: 'intensity_exceeded',
          supervisor: name,
          restartsInWindow,
          intensity: deps.limit.intensity,
          periodMs: deps.limit.periodMs,
          lastOffender: cell.id,
        },
        'restart intensity exceeded',
      );
      for (const r of [...state.records].reverse()) {
        stopChildNow(r);
        r.spec.cell.status = 'backing_off';
      }
      throw new IntensityExceededError(name, restartsInWindow, cell.id);
    }
    const group = groupOf(state, rec);
    for (const r of [...group].reverse()) {
      if (r === rec || !r.inc) continue;
      stopChildNow(r);
      r.spec.cell.status = 'backing_off';
    }
    const uptime = cell.startedAt === undefined ? 0 : t - cell.startedAt;
    const attempt = cause === 'requested' ? 0 : nextAttempt(rec.attempt, uptime, rec.spec.backoff);
    const delayMs = backoffDelay(attempt, rec.spec.backoff, runtime.random());
    rec.attempt = cause === 'requested' ? rec.attempt : attempt + 1;
    cell.status = 'backing_off';
    cell.backoffMs = delayMs;
    cell.restartAt = t + delayMs;
    baseLog[cause === 'crash' ? crashLoopLevel(cell.repeatCrashes, 'warn') : 'warn'](
      {
        event: 'restart_scheduled',
        supervisor: name,
        child: cell.id,
        attempt: rec.attempt,
        delayMs,
        cause,
        restartsInWindow: state.window.count(t),
        intensity: deps.limit.intensity,
        periodMs: deps.limit.periodMs,
        group: group.map((r) => r.spec.cell.id),
      },
      'restart scheduled',
    );
    ctx.timers.once(`restart:${cell.id}`, delayMs, restartDue(group.map((r) => r.spec.cell.id)));
    return state;
  };

  const find = (state: SupervisorState, id: string): ChildRecord | undefined =>
    state.records.find((r) => r.spec.cell.id === id);

  /**
   * Under rest_for_one a child depends on the ones started before it: while one of those waits for its own restart,
   * the child waits too, and that restart (whose group includes the child) starts both in order. Without this, a
   * dependant whose timer fires first would run on the old registration and not be restarted with the new one.
   */
  const waitsForEarlier = (state: SupervisorState, rec: ChildRecord): boolean =>
    deps.strategy === 'rest_for_one' &&
    state.records.slice(0, state.records.indexOf(rec)).some((r) => !r.inc && r.spec.cell.status === 'backing_off');

  return { now, startChild, stopChildNow, groupOf, scheduleRestart, find, waitsForEarlier };
}
