/**
 * One health snapshot for heartbeats, /health and the `health` log event (supervisor/README.md): per actor its
 * status, generation, uptime, restarts, current backoff, last crash and message counts.
 */
import type { Clock } from './clock.js';
import type { ActorStatus, CellView } from './actor-ref.js';

export interface ActorHealth {
  status: ActorStatus;
  gen: number;
  uptimeMs: number | null;
  restartsTotal: number;
  restartsInWindow: number;
  backoffMs: number | null;
  maxBackoffMs: number | null;
  restartInMs: number | null;
  lastCrash: { at: string; reason: string; msgType: string | null } | null;
  /** The same crash in a row, not yet followed by a run of the backoff reset time (crash-loop.ts); null if none. */
  crashLoop: { crashes: number; sinceMs: number | null } | null;
  processed: number;
  dropped: number;
  stashed: number;
}

export interface HealthSnapshot {
  at: string;
  uptimeMs: number;
  actors: Record<string, ActorHealth>;
}

/** Cells keep monotonic times; `clock` turns them into durations, and a crash's time into wall time for display. */
export function actorHealth(cell: CellView, clock: Clock): ActorHealth {
  const now = clock.monotonic();
  const wallOf = (mono: number): number => clock.now() - (now - mono);
  const running = cell.status === 'running' && cell.startedAt !== undefined;
  return {
    status: cell.status,
    gen: cell.gen,
    uptimeMs: running && cell.startedAt !== undefined ? now - cell.startedAt : null,
    restartsTotal: cell.restartsTotal,
    restartsInWindow: cell.crashTimes.filter((t) => t > now - cell.windowMs).length,
    backoffMs: cell.backoffMs,
    maxBackoffMs: cell.maxBackoffMs,
    restartInMs: cell.restartAt === null ? null : Math.max(0, cell.restartAt - now),
    lastCrash: cell.lastCrash
      ? {
          at: new Date(wallOf(cell.lastCrash.at)).toISOString(),
          reason: cell.lastCrash.reason,
          msgType: cell.lastCrash.msgType ?? null,
        }
      : null,
    crashLoop:
      cell.repeatCrashes > 0
        ? { crashes: cell.repeatCrashes + 1, sinceMs: cell.crashLoopSince === null ? null : now - cell.crashLoopSince }
        : null,
    processed: cell.processed,
    dropped: cell.dropped,
    stashed: cell.stashed,
  };
}

/** `startedAt`: the tree's start on the clock's monotonic scale. */
export function healthSnapshot(cells: readonly CellView[], clock: Clock, startedAt: number): HealthSnapshot {
  return {
    at: new Date(clock.now()).toISOString(),
    uptimeMs: clock.monotonic() - startedAt,
    actors: Object.fromEntries(cells.map((c) => [c.id, actorHealth(c, clock)])),
  };
}
