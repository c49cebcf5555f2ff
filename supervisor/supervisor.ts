/**
 * A supervisor is itself an actor (so it has a crash path to its own parent) whose state is its children.
 * It restarts crashed children with exponential backoff, applies its strategy to their siblings, and gives up
 * when restarts exceed its intensity, by stopping its children and crashing itself (escalation).
 */
import { childStable, type SupervisorMsg } from './protocol.js';
import { InjectedCrash } from './incarnation.js';
import type { ActorDef } from './child-spec.js';
import { crashReason } from './crash-loop.js';
import { IntensityWindow } from './intensity.js';
import {
  SHUTDOWN_MARGIN_MS,
  STABLE_RECHECK_MS,
  supervisorSteps,
  type SupervisorDeps,
  type SupervisorState,
} from './supervisor-steps.js';

export function supervisorDef(deps: SupervisorDeps): ActorDef<SupervisorState, SupervisorMsg> {
  const { baseLog, id: name } = deps;
  const { now, startChild, stopChildNow, scheduleRestart, find, waitsForEarlier } = supervisorSteps(deps);

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
