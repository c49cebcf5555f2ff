/**
 * The agent's supervision tree (docs/architecture.md §1):
 *
 *   root      rest_for_one   registration, workers   (a new identity restarts the workers with it)
 *   └ workers one_for_one    tunnel-keeper, reporter, event-watcher, command-poller
 *
 * Cells are created before anything starts so siblings can be wired with each other's stable refs.
 */
import { commandPollerDef, type PollerMemory } from '../actors/command-poller/command-poller.js';
import { eventWatcherDef } from '../actors/event-watcher/event-watcher.js';
import type { WatcherMemory } from '../actors/event-watcher/watcher-memory.js';
import { registrationDef } from '../actors/registration/registration.js';
import type { ReregistrationPacer } from '../actors/registration/reregistration-pacer.js';
import { reporterDef } from '../actors/reporter/reporter.js';
import { keepUndelivered, type ReporterMemory } from '../actors/reporter/reporter-steps.js';
import { tunnelKeeperDef } from '../actors/tunnel-keeper/tunnel-keeper.js';
import type { KeeperMemory } from '../actors/tunnel-keeper/probation.js';
import { tunnelTeardown } from '../actors/tunnel-keeper/teardown.js';
import type { AgentConfig } from './config/config.js';
import type { DockerPort } from '../docker/port.js';
import type { SwarmPort } from '../docker/swarm-port.js';
import { swarmInventory } from '../docker/swarm-inventory.js';
import type { Logger } from '../log/logger.js';
import type { MasterClient } from '../master/client.js';
import type { CommandPollerMsg } from '../messages/command-poller.js';
import type { EventWatcherMsg } from '../messages/event-watcher.js';
import type { RegistrationMsg } from '../messages/registration.js';
import type { ReporterMsg } from '../messages/reporter.js';
import type { SupervisorMsg } from '../supervisor/protocol.js';
import type { TunnelKeeperMsg } from '../messages/tunnel-keeper.js';
import type { Outbox } from '../persistence/outbox.js';
import type { TombstoneStore } from '../persistence/tombstone.js';
import type { SelfLocator } from '../docker/self-container.js';
import type { StateStore } from '../persistence/state-files.js';
import type { ActorCell } from '../supervisor/actor-ref.js';
import { carryOf, childSpec, type ChildSpec, type RuntimeSettings } from '../supervisor/child-spec.js';
import type { StatusBoard } from '../domain/status-board.js';
import { supervisorDef } from '../supervisor/supervisor.js';
import { CellRegistry, type TreeOptions } from '../supervisor/tree.js';

/** Backoff of the workers supervisor itself when the root restarts it. */
const WORKERS_BACKOFF = { minMs: 1000, maxMs: 30_000 };
/** Re-registration triggers closer together than this are not acted on. */
const MIN_REREGISTER_INTERVAL_MS = 5000;
/** Grace for an actor's own shutdown work; the long one, the tunnel container's removal, is the tree's teardown. */
const ACTOR_SHUTDOWN_MS = 1000;
const EVENT_RETRY_CAP_MS = 4000;
/** Over the image pull's deadline plus the few 30 s calls of a reconcile around it. */
const KEEPER_HANDLER_TIMEOUT_MS = 15 * 60_000;
/** Swarm mode: all services looked at this often, for what no event tells (a task on another node). */
const SERVICE_SWEEP_MS = 30_000;

export interface AgentTreeDeps {
  config: AgentConfig;
  runtime: RuntimeSettings;
  log: Logger;
  client: MasterClient;
  docker: DockerPort;
  /** Swarm mode (docs/swarm.md); null for a standalone engine. */
  swarm: SwarmPort | null;
  store: StateStore;
  outbox: Outbox;
  board: StatusBoard;
  version: string;
  healthSummary: () => Record<string, unknown> | undefined;
  /** The log's redactor learns a tunnel token the master assigned. */
  learnSecret: (token: string) => void;
  tombstones: TombstoneStore;
  self: SelfLocator;
  /** The master accepted the final decommission acknowledgement. */
  onDecommissioned: () => void;
}

/** Sent at every registration; self_stop.v1 only while the agent's own container can be found. */
async function capabilities(self: SelfLocator): Promise<readonly string[]> {
  const base = ['decommission.v1', 'tunnel_stop.v1'];
  return (await self.locate()) === null ? base : [...base, 'self_stop.v1'];
}

export interface AgentTree {
  registry: CellRegistry;
  rootCell: ActorCell<SupervisorMsg>;
  root: TreeOptions['root'];
  cells: {
    workers: ActorCell<SupervisorMsg>;
    registration: ActorCell<RegistrationMsg, ReregistrationPacer>;
    tunnelKeeper: ActorCell<TunnelKeeperMsg, KeeperMemory>;
    eventWatcher: ActorCell<EventWatcherMsg, WatcherMemory>;
    commandPoller: ActorCell<CommandPollerMsg, PollerMemory>;
    reporter: ActorCell<ReporterMsg, ReporterMemory>;
  };
  /** The tunnel container's removal and the outbox's last write at shutdown (TreeOptions.teardown). */
  teardown: (deadline: number) => Promise<void>;
}

export function buildAgentTree(deps: AgentTreeDeps): AgentTree {
  const { config, runtime, log } = deps;
  const sup = config.supervision;
  const registry = new CellRegistry(log, sup.stashCapacity, 'agent');
  const rootCell = registry.create<SupervisorMsg>('root');
  const registration = registry.create<RegistrationMsg, ReregistrationPacer>('registration');
  const workersCell = registry.create<SupervisorMsg>('workers');
  const tunnelKeeper = registry.create<TunnelKeeperMsg, KeeperMemory>('tunnel-keeper');
  const eventWatcher = registry.create<EventWatcherMsg, WatcherMemory>('event-watcher');
  const commandPoller = registry.create<CommandPollerMsg, PollerMemory>('command-poller');
  const reporter = registry.create<ReporterMsg, ReporterMemory>('reporter');
  const random = runtime.random;
  const swarm = deps.swarm;

  const budgetS = Math.floor(sup.shutdownBudgetMs / 1000);
  const keeperDef = tunnelKeeperDef({
    docker: deps.docker,
    store: deps.store,
    reporter,
    board: deps.board,
    image: config.tunnel.image,
    network: config.tunnel.networkName,
    createNetwork: config.tunnel.createNetwork,
    checkIntervalMs: config.tunnel.checkIntervalMs,
    startConfirmMs: config.tunnel.startConfirmMs,
    stopTimeoutS: 10,
    lifecycle: deps.tombstones,
    random,
    ...(swarm ? { swarm: { swarm, replicas: config.tunnel.replicas } } : {}),
  });
  const workerChildren: ChildSpec[] = [
    childSpec({
      cell: tunnelKeeper,
      def: keeperDef,
      // Its removal of the container is the tree's teardown, which waits for the keeper's Docker call if one is out.
      restart: 'permanent',
      backoff: sup.backoff['tunnel-keeper'],
      shutdownTimeoutMs: ACTOR_SHUTDOWN_MS,
      // A first pull of the cloudflared image on a slow link legitimately takes minutes: the pull's own deadline
      // (10 min, docker/) and the calls around it must end first, as a Docker failure the keeper backs off from.
      handlerTimeoutMs: Math.max(sup.handlerTimeoutMs, KEEPER_HANDLER_TIMEOUT_MS),
    }),
    // Before the watcher: it feeds the Reporter, which must still run when the watcher stops (reverse order).
    childSpec({
      cell: reporter,
      def: reporterDef({
        client: deps.client,
        // Swarm mode: labelled services plus the containers that are not tasks.
        docker: swarm ? { listManagedContainers: (signal) => swarmInventory(deps.docker, swarm, signal) } : deps.docker,
        outbox: deps.outbox,
        registration,
        board: deps.board,
        healthSummary: deps.healthSummary,
        // Retries of queued events are capped low so that a master coming back gets the backlog within seconds.
        reportIntervalMs: config.intervals.reportMs,
        heartbeatIntervalMs: config.intervals.heartbeatMs,
        retryCapMs: EVENT_RETRY_CAP_MS,
        lifecycle: deps.tombstones,
        random,
        // Swarm mode scans for every report: replica counts change without an event the Reporter is handed.
        inventoryFromEvents: swarm === null,
      }),
      restart: 'permanent',
      backoff: sup.backoff.reporter,
      shutdownTimeoutMs: ACTOR_SHUTDOWN_MS,
    }),
    childSpec({
      cell: eventWatcher,
      def: eventWatcherDef({
        docker: deps.docker,
        reporter,
        tunnelKeeper,
        ...(swarm
          ? { swarm: { swarm, network: config.tunnel.networkName, sweepMs: SERVICE_SWEEP_MS, board: deps.board } }
          : {}),
      }),
      restart: 'permanent',
      backoff: sup.backoff['event-watcher'],
      shutdownTimeoutMs: ACTOR_SHUTDOWN_MS,
    }),
    childSpec({
      cell: commandPoller,
      def: commandPollerDef({
        client: deps.client,
        registration,
        tunnelKeeper,
        pollIntervalMs: config.intervals.commandPollMs,
        retryCapMs: 60_000,
        learnSecret: deps.learnSecret,
        decommission: {
          tombstones: deps.tombstones,
          locateSelf: () => deps.self.locate(),
          cloudflaredImage: config.tunnel.image,
          clock: runtime.clock,
        },
        onDecommissioned: deps.onDecommissioned,
        random,
      }),
      restart: 'permanent',
      backoff: sup.backoff['command-poller'],
      shutdownTimeoutMs: ACTOR_SHUTDOWN_MS,
    }),
  ];
  const workers = childSpec({
    cell: workersCell,
    def: supervisorDef({
      id: 'workers',
      strategy: 'one_for_one',
      limit: sup.workers,
      children: workerChildren,
      runtime,
      baseLog: log,
    }),
    restart: 'permanent',
    backoff: {
      ...WORKERS_BACKOFF,
      randomFactor: sup.backoff['tunnel-keeper'].randomFactor,
      resetAfterMs: sup.backoff['tunnel-keeper'].resetAfterMs,
    },
    shutdownTimeoutMs: sup.shutdownBudgetMs,
  });
  const registrationSpec = childSpec({
    cell: registration,
    def: registrationDef({
      client: deps.client,
      store: deps.store,
      board: deps.board,
      displayName: config.agent.displayName,
      version: deps.version,
      retryCapMs: config.intervals.registerRetryMs,
      minReregisterIntervalMs: MIN_REREGISTER_INTERVAL_MS,
      subscribers: [tunnelKeeper, commandPoller, reporter],
      capabilities: () => capabilities(deps.self),
      // A restart owed the master its final acknowledgement, but the master had it already: nothing left to do.
      onRefused: () => {
        if (deps.tombstones.lifecycle === 'decommissioned') deps.onDecommissioned();
      },
      random,
    }),
    restart: 'permanent',
    backoff: sup.backoff.registration,
    shutdownTimeoutMs: ACTOR_SHUTDOWN_MS,
  });

  const removeTunnel = tunnelTeardown({
    docker: deps.docker,
    // The keeper's own turns, made by its definition if no keeper ever started.
    turns: () => tunnelKeeper.carry(carryOf(keeperDef)),
    removeOnShutdown: config.tunnel.removeOnShutdown,
    lifecycle: deps.tombstones,
    shutdownStopTimeoutS: Math.max(1, Math.min(10, budgetS - 3)),
    clock: runtime.clock,
    log,
    ...(swarm ? { swarm } : {}),
  });
  return {
    registry,
    rootCell,
    root: { id: 'root', strategy: 'rest_for_one', limit: sup.root, children: [registrationSpec, workers] },
    cells: { workers: workersCell, registration, tunnelKeeper, eventWatcher, commandPoller, reporter },
    teardown: async (deadline) => {
      await Promise.all([removeTunnel(deadline), keepUndelivered(deps.outbox, reporter.takeStash())]);
    },
  };
}
