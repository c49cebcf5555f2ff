/**
 * A supervisor is itself an actor (so it has a crash path to its own parent) whose state is its children.
 * It restarts crashed children with exponential backoff, applies its strategy to their siblings, and gives up
 * when restarts exceed its intensity, by stopping its children and crashing itself (escalation).
 */
import type { Ref } from 'nact';
import type Logger from 'bunyan';
import { childDown, childExit, childStable, restartDue, type SupervisorMsg } from './protocol.js';
import { tell } from './actor-ref.js';
import { startIncarnation, InjectedCrash, type RunningIncarnation } from './actor-host.js';
import { backoffDelay, nextAttempt } from './backoff.js';
import type { ActorContext, ActorDef, ChildSpec, Message, RuntimeSettings, SupervisorOptions } from './child-spec.js';
import { crashLoopLevel, crashReason } from './crash-loop.js';
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

interface ChildRecord {
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

type Ctx = ActorContext<SupervisorMsg>;
/** Kept back from each child's share of the deadline for the supervisor's own bookkeeping. */
const SHUTDOWN_MARGIN_MS = 50;
/** A crash loop's end is looked at again this soon when a deliberate restart was under way. */
const STABLE_RECHECK_MS = 1000;

export function supervisorDef(deps: SupervisorDeps): ActorDef<SupervisorState, SupervisorMsg> {
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

  return {
    init(ctx) {
      const state: SupervisorState = {
        records: deps.children.map((spec) => ({
          spec,
          inc: undefined,
          last: undefined,
          attempt: 0,
          crashFreeSince: null,
          crashedSinceStart: false,
        })),
        window: new IntensityWindow(deps.limit),
        stopping: false,
      };
      for (const rec of state.records) startChild(rec, ctx, undefined);
      return state;
    },

    handlers: {
      'supervisor.child-down'(state, msg, ctx) {
        const rec = find(state, msg.id);
        if (!rec || rec.inc?.gen !== msg.gen || state.stopping) return state;
        const cell = rec.spec.cell;
        const t = now();
        rec.inc = undefined;
        const crash = { at: t, reason: crashReason(msg.reason), msgType: msg.msgType };
        cell.lastCrash = crash;
        // A chaos kill counts for the intensity limit, but it is not the actor failing: it neither ends nor extends a
        // crash loop, nor resets the crash-free time, so /health and the loop's log story stay as they were.
        if (msg.reason.name !== 'InjectedCrash') {
          rec.crashedSinceStart = true;
          cell.repeatCrashes = msg.repeat ? cell.repeatCrashes + 1 : 0;
          if (!msg.repeat) cell.crashLoopSince = t;
          cell.lastFailure = crash;
        }
        cell.crashTimes = [...cell.crashTimes.filter((c) => c > t - deps.limit.periodMs), t];
        if (rec.spec.restart === 'temporary') {
          cell.status = 'failed';
          baseLog.warn(
            { event: 'actor_stopped', supervisor: name, child: msg.id, gen: msg.gen, cause: 'crash' },
            'temporary actor crashed; not restarted',
          );
          return state;
        }
        return scheduleRestart(state, rec, ctx, 'crash');
      },

      'supervisor.child-exit'(state, msg, ctx) {
        const rec = find(state, msg.id);
        if (!rec || rec.inc?.gen !== msg.gen || state.stopping) return state;
        rec.inc = undefined;
        if (msg.restart !== null && rec.spec.restart !== 'temporary') {
          baseLog.info(
            { event: 'restart_requested', supervisor: name, child: msg.id, gen: msg.gen, reason: msg.restart },
            'restart requested by the actor',
          );
          return scheduleRestart(state, rec, ctx, 'requested');
        }
        if (rec.spec.restart === 'permanent') return scheduleRestart(state, rec, ctx, 'exit');
        rec.spec.cell.status = 'stopped';
        baseLog.info(
          { event: 'actor_stopped', supervisor: name, child: msg.id, gen: msg.gen, cause: 'normal' },
          'actor stopped',
        );
        return state;
      },

      async 'supervisor.restart-due'(state, msg, ctx) {
        if (state.stopping) return state;
        for (const rec of state.records) {
          if (!msg.ids.includes(rec.spec.cell.id) || rec.inc || rec.spec.cell.status !== 'backing_off') continue;
          if (waitsForEarlier(state, rec)) {
            baseLog.debug(
              { event: 'restart_deferred', supervisor: name, child: rec.spec.cell.id },
              "restart waits for an earlier sibling's",
            );
            continue;
          }
          // nact must have removed the old incarnation before a new one may take its name.
          await rec.last?.terminated;
          const crash = rec.spec.cell.lastCrash;
          startChild(rec, ctx, crash ? now() - crash.at : undefined);
        }
        return state;
      },

      'supervisor.child-stable'(state, msg, ctx) {
        const rec = find(state, msg.id);
        const cell = rec?.spec.cell;
        if (!rec || !cell || cell.repeatCrashes === 0 || rec.crashFreeSince === null || state.stopping) return state;
        // Between the deliberate restarts that keep crashFreeSince: look again once it runs.
        if (!rec.inc) {
          ctx.timers.once(`stable:${cell.id}`, STABLE_RECHECK_MS, childStable(cell.id, msg.gen));
          return state;
        }
        const leftMs = rec.crashFreeSince + rec.spec.backoff.resetAfterMs - now();
        if (leftMs > 0) {
          ctx.timers.once(`stable:${cell.id}`, leftMs, childStable(cell.id, rec.inc.gen));
          return state;
        }
        baseLog.info(
          {
            event: 'actor_recovered',
            supervisor: name,
            child: cell.id,
            gen: rec.inc.gen,
            crashes: cell.repeatCrashes + 1,
            loopMs: cell.crashLoopSince === null ? null : now() - cell.crashLoopSince,
            lastCrash: cell.lastFailure?.reason,
          },
          'actor running again after a crash loop',
        );
        cell.repeatCrashes = 0;
        return state;
      },

      'supervisor.inject-crash'(state, msg) {
        find(state, msg.id)?.inc?.injectCrash(new InjectedCrash(msg.reason));
        return state;
      },
    },

    async shutdown(state, _ctx, deadline) {
      state.stopping = true;
      for (const rec of [...state.records].reverse()) {
        const inc = rec.inc;
        rec.inc = undefined;
        // One deadline for all: a slow sibling shortens what the next one gets instead of overrunning the budget.
        const left = Math.max(0, deadline - now() - SHUTDOWN_MARGIN_MS);
        const outcome = inc ? await inc.shutdown(Math.min(rec.spec.shutdownTimeoutMs, left)) : 'not_running';
        rec.spec.cell.status = 'stopped';
        baseLog.info(
          {
            event: 'actor_stopped',
            supervisor: name,
            child: rec.spec.cell.id,
            gen: rec.spec.cell.gen,
            cause: 'shutdown',
            outcome,
          },
          'actor stopped',
        );
        rec.spec.cell.backoffMs = null;
        rec.spec.cell.restartAt = null;
      }
    },

    release(state) {
      // Crash or kill of the supervisor itself: its children must not outlive it (nact would orphan them).
      for (const rec of [...(state?.records ?? [])].reverse()) {
        stopChildNow(rec);
        if (!state?.stopping) rec.spec.cell.status = 'backing_off';
      }
    },
  };
}
