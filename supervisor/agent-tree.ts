/**
 * The agent's supervision tree (design.md §1):
 *
 *   root      rest_for_one   (registration, then workers: a new identity restarts the workers with it)
 *   └ workers one_for_one    (tunnel-keeper first, then event-watcher, command-poller, reporter)
 *
 * Cells are created before anything starts so siblings can be wired with each other's stable refs.
 * The five actors are added here as they land (issues: master side, Docker side); until then the tree runs
 * its supervisors only.
 */
import type { AgentConfig } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { SupervisorMsg } from '../messages/supervisor.js';
import type { ActorCell } from './actor-ref.js';
import { childSpec, type ChildSpec, type RuntimeSettings } from './child-spec.js';
import { supervisorDef } from './supervisor.js';
import { CellRegistry, type TreeOptions } from './tree.js';

/** Backoff of the workers supervisor itself when the root restarts it. */
const WORKERS_BACKOFF = { minMs: 1000, maxMs: 30_000 };

export interface AgentTree {
  registry: CellRegistry;
  rootCell: ActorCell<SupervisorMsg>;
  root: TreeOptions['root'];
}

export function buildAgentTree(config: AgentConfig, runtime: RuntimeSettings, log: Logger): AgentTree {
  const sup = config.supervision;
  const registry = new CellRegistry(log, sup.stashCapacity);
  const rootCell = registry.create<SupervisorMsg>('root');
  const workersCell = registry.create<SupervisorMsg>('workers');

  const workerChildren: ChildSpec[] = [];
  const workers = childSpec({
    cell: workersCell,
    def: supervisorDef({ id: 'workers', strategy: 'one_for_one', limit: sup.workers, children: workerChildren, runtime, baseLog: log }),
    restart: 'permanent',
    backoff: { ...WORKERS_BACKOFF, randomFactor: sup.backoff['tunnel-keeper'].randomFactor, resetAfterMs: sup.backoff['tunnel-keeper'].resetAfterMs },
    // The workers get the whole budget: they are the ones with real cleanup (the tunnel container).
    shutdownTimeoutMs: sup.shutdownBudgetMs,
  });

  return {
    registry,
    rootCell,
    root: { id: 'root', strategy: 'rest_for_one', limit: sup.root, children: [workers] },
  };
}
