/**
 * Builds and runs a supervision tree on one nact system: cells first (so siblings can hold each other's stable
 * refs before anyone starts), then the root supervisor, whose escalation is fatal for the process.
 */
import { start, stop as nactStop } from 'nact';
import { settlesWithin, type Clock } from './clock.js';
import type Logger from 'bunyan';
import type { SupervisorMsg } from './protocol.js';
import { ActorCell, type CellView, type DropCause } from './actor-ref.js';
import { startIncarnation } from './actor-host.js';
import type { RunningIncarnation } from './incarnation.js';
import { crashLoopLevel } from './crash-loop.js';
import type { Message, RuntimeSettings } from './child-spec.js';
import { healthSnapshot, type HealthSnapshot } from './health.js';
import { supervisorDef } from './supervisor.js';
import type { SupervisorDeps } from './supervisor-steps.js';

/** Creates cells and remembers them all, in creation order, for health snapshots. */
export class CellRegistry {
  private readonly cells: CellView[] = [];

  /** `system`: the first segment of every actor's path (`system/id`), as in logs and dead letters. */
  constructor(
    private readonly log: Logger,
    private readonly defaultCapacity: number,
    private readonly system: string,
  ) {}

  create<M extends Message, C = undefined>(id: string, capacity = this.defaultCapacity): ActorCell<M, C> {
    if (this.cells.some((c) => c.id === id)) throw new Error(`duplicate actor id ${id}`);
    const cell = new ActorCell<M, C>(id, `${this.system}/${id}`, capacity, (c, cause) => {
      this.onDrop(c, cause);
    });
    this.cells.push(cell);
    return cell;
  }

  all(): readonly CellView[] {
    return this.cells;
  }

  /**
   * Logs the 1st, 10th, 100th … drop of a cause in an episode (until the actor starts again), with the count since
   * the last such line (so the counts in the log add up); the supervisor logs what is left when the actor restarts.
   * Counted per episode, not per run: after a bad day the next episode's first drop is news again.
   */
  private onDrop(cell: CellView, cause: DropCause): void {
    const seen = (cell.episodeDrops.get(cause) ?? 0) + 1;
    cell.episodeDrops.set(cause, seen);
    if (Number.isInteger(Math.log10(seen))) {
      // In a crash loop each episode would say it again, as loud as the crashes it follows are quiet.
      this.log[crashLoopLevel(cell.repeatCrashes, 'warn')](
        { event: 'messages_dropped', actor: cell.id, gen: cell.gen, count: cell.pendingDrops.get(cause) ?? 0, cause },
        'messages dropped',
      );
      cell.pendingDrops.delete(cause);
    }
  }
}

export interface TreeOptions {
  root: Omit<SupervisorDeps, 'runtime' | 'baseLog'>;
  rootCell: ActorCell<SupervisorMsg>;
  registry: CellRegistry;
  runtime: RuntimeSettings;
  log: Logger;
  /** The root gave up (intensity exceeded) or crashed: the process must end (the owner decides how). */
  onFatal: (reason: Error) => void;
  /**
   * Cleanup that belongs to the process rather than to one incarnation (an external resource an actor owns): it
   * runs after the actors have stopped, whether the one that owns the resource was running, backing off or stuck, and
   * gets what is left of the budget (at least TEARDOWN_RESERVE_MS of it, as the actors' share is capped).
   */
  teardown?: (deadline: number) => Promise<void>; // deadline: the clock's monotonic ms
}

/**
 * What the teardown is sure to get of the shutdown budget (a stop with a second's grace, and the removal), or half
 * of a budget under twice this.
 */
export const TEARDOWN_RESERVE_MS = 3000;

/** Runs the teardown until `deadline`; false if it failed or was still running then (the process exits anyway). */
async function runTeardown(
  teardown: (deadline: number) => Promise<void>,
  deadline: number,
  clock: Clock,
  log: Logger,
): Promise<boolean> {
  const leftMs = Math.max(0, deadline - clock.monotonic());
  try {
    const done = await settlesWithin(teardown(deadline), clock, leftMs);
    if (!done) log.error({ event: 'teardown_timeout' }, 'teardown timed out');
    return done;
  } catch (err) {
    log.error({ event: 'teardown_failed', err }, 'teardown failed');
    return false;
  }
}

export interface RunningTree {
  health(): HealthSnapshot;
  /** Graceful shutdown in reverse start order; resolves 'timeout' if the budget ran out and the rest was killed. */
  shutdown(budgetMs: number): Promise<'ok' | 'timeout'>;
}

export function startTree(opts: TreeOptions): RunningTree {
  const { runtime, log, rootCell, registry } = opts;
  const startedAt = runtime.clock.monotonic();
  const system = start();
  let fatal = false;
  const def = supervisorDef({ ...opts.root, runtime, baseLog: log });
  const rootGen = ++rootCell.gen;
  const root: RunningIncarnation<SupervisorMsg> = startIncarnation({
    parent: system,
    cell: rootCell,
    def,
    gen: rootGen,
    log: log.child({ actor: rootCell.id, gen: rootGen }),
    runtime,
    hooks: {
      onCrash: (reason) => {
        fatal = true;
        rootCell.status = 'failed';
        opts.onFatal(reason);
      },
      onExit: () => {
        rootCell.status = 'stopped';
      },
    },
  });
  rootCell.status = 'running';
  rootCell.startedAt = startedAt;
  rootCell.bind(root);
  log.info({ event: 'actor_started', supervisor: null, child: rootCell.id, gen: rootGen, attempt: 0 }, 'actor started');

  return {
    health: () => healthSnapshot(registry.all(), runtime.clock, startedAt),
    async shutdown(budgetMs) {
      if (fatal) {
        nactStop(system);
        return 'ok';
      }
      const deadline = runtime.clock.monotonic() + budgetMs;
      const actorsBudgetMs = opts.teardown ? Math.max(budgetMs / 2, budgetMs - TEARDOWN_RESERVE_MS) : budgetMs;
      const result = await root.shutdown(actorsBudgetMs);
      rootCell.status = 'stopped';
      await root.terminated;
      nactStop(system);
      if (!opts.teardown) return result;
      const torndown = await runTeardown(opts.teardown, deadline, runtime.clock, log);
      return torndown ? result : 'timeout';
    },
  };
}
