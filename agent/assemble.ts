/**
 * Wires the running agent from a validated configuration: state, boundaries (master client, Docker), the
 * outbox and the supervision tree. main.ts adds the process concerns (guards, signals, exit); specs call this
 * directly to run a real agent in-process against the test master and a real Docker Engine.
 */
import type { Clock } from '../supervisor/clock.js';
import type { AgentConfig } from './config/config.js';
import { keyFileReader } from './key-file.js';
import { DockerodePort } from '../docker/dockerode-port.js';
import { DockerodeSwarmPort } from '../docker/dockerode-swarm.js';
import type { DockerMode } from './docker-mode.js';
import { dockerFromHost } from '../docker/dockerode-call.js';
import type { Logger } from '../log/logger.js';
import { HttpMasterClient } from '../master/client.js';
import type { Redactor } from '../log/redact.js';
import { Outbox } from '../persistence/outbox.js';
import { FileTombstoneStore } from '../persistence/tombstone.js';
import { readProcMountinfo, SelfLocator, type SelfLocatorDeps } from '../docker/self-container.js';
import { FileStateStore } from '../persistence/state-files.js';
import { buildAgentTree, type AgentTree } from './tree.js';
import { ChaosMonkey, type ChaosTopology } from './chaos.js';
import { compactHealth, healthReport, livenessReport, metricsText, type HealthReport } from './health-report.js';
import { StatusBoard } from '../domain/status-board.js';
import { startTree, type RunningTree } from '../supervisor/tree.js';

/** Events kept for the master while it is unreachable; beyond this the oldest go (and a full report follows). */
export const OUTBOX_CAPACITY = 1000;
/** The agent's own grace when it stops its container after a decommission. */
const SELF_STOP_S = 15;

export interface AssembleDeps {
  /** What main.ts decided from DOCKER_MODE (docker-mode.ts); standalone when not said. */
  mode?: DockerMode;
  log: Logger;
  redactor: Redactor;
  clock: Clock;
  version: string;
  random?: () => number;
  outboxCapacity?: number;
  onFatal: (reason: Error) => void;
  /**
   * The decommission is over (the master accepted the final acknowledgement). `selfStopped`: the agent asked Docker
   * to stop its own container, whose SIGTERM ends the process; otherwise the caller ends it.
   */
  onDecommissioned: (selfStopped: boolean) => void;
  /** Where the agent looks for its own container id; the process's HOSTNAME and /proc/self/mountinfo by default. */
  selfHints?: Pick<SelfLocatorDeps, 'hostname' | 'readMountinfo'>;
}

export interface AssembledAgent {
  tree: RunningTree;
  cells: AgentTree['cells'];
  board: StatusBoard;
  client: HttpMasterClient;
  outbox: Outbox;
  store: FileStateStore;
  tombstones: FileTombstoneStore;
  chaos: ChaosMonkey;
  /** The `health` log record: supervision snapshot plus published facts. */
  healthRecord(): Record<string, unknown>;
  /** What GET /health answers. */
  healthReport(): HealthReport;
  /** What GET /livez answers. */
  livenessReport(): HealthReport;
  /** What GET /metrics answers. */
  metrics(): string;
}

/** The master URL as it may be logged: credentials masked, path kept. */
export function loggableUrl(raw: string): string {
  const url = new URL(raw);
  if (url.username || url.password) {
    url.username = 'REDACTED';
    url.password = '';
  }
  return url.toString().replace(/\/$/, '');
}

export async function assembleAgent(config: AgentConfig, deps: AssembleDeps): Promise<AssembledAgent> {
  const { log, clock, redactor, version } = deps;
  const store = await FileStateStore.open({ dir: config.agent.dataDir, log, clock, redactor });
  const agentId = await store.loadAgentId();
  const tunnel = await store.loadTunnelState();
  log.info(
    {
      event: 'state_loaded',
      agentId: agentId ?? null,
      writable: store.writable,
      tunnel: { id: tunnel.id, name: tunnel.name, desiredState: tunnel.desired_state, hasToken: tunnel.token !== null },
    },
    'local state loaded',
  );

  const runtime = { clock, handlerTimeoutMs: config.supervision.handlerTimeoutMs, random: deps.random ?? Math.random };
  const board = new StatusBoard(loggableUrl(config.master.url));
  const keyFile = config.master.apiKeyFile;
  const client = new HttpMasterClient({
    baseUrl: config.master.url,
    apiKey: config.master.apiKey,
    ...(keyFile === undefined ? {} : { reloadKey: keyFileReader({ file: keyFile, clock, log }) }),
    access: config.access,
    timeoutMs: config.master.requestTimeoutMs,
    caFile: config.master.caFile,
    userAgent: `dockflare-agent/${version}`,
    clock,
    log,
    redactor,
  });
  const outbox = await Outbox.open(
    store.writable ? config.agent.dataDir : null,
    deps.outboxCapacity ?? OUTBOX_CAPACITY,
    log,
    clock,
  );
  const mode = deps.mode ?? 'standalone';
  board.publish('docker', { mode });
  const docker = new DockerodePort(dockerFromHost(config.docker.host), { skipSwarmTasks: mode === 'swarm' });
  const swarm = mode === 'swarm' ? new DockerodeSwarmPort(dockerFromHost(config.docker.host)) : null;
  const tombstones = await FileTombstoneStore.open(config.agent.decommissionTombstonePath);
  const self = new SelfLocator({
    docker,
    canScaleOwnService: swarm !== null,
    ...(deps.selfHints ?? { hostname: process.env.HOSTNAME, readMountinfo: readProcMountinfo }),
  });
  let finishing = false;
  const finishDecommission = async (): Promise<void> => {
    if (finishing) return;
    finishing = true;
    const own = await self.locate();
    let stopped = false;
    const ownService = own?.swarmService;
    if (ownService !== undefined && swarm !== null) {
      // A Swarm task: stopping it would make Swarm start another; at 0 replicas Swarm stops it for good.
      log.info({ event: 'agent_self_stop', serviceId: ownService }, 'decommissioned: scaling this service to 0');
      stopped = await swarm.scaleService(ownService, 0).then(
        () => true,
        (err: unknown) => {
          log.error({ event: 'agent_self_stop_failed', err }, 'could not scale this service to 0');
          return false;
        },
      );
    } else if (own !== null) {
      log.info({ event: 'agent_self_stop', containerId: own.id }, 'decommissioned: stopping this container');
      stopped = await docker.stopContainer(own.id, SELF_STOP_S).catch((err: unknown) => {
        log.error({ event: 'agent_self_stop_failed', err }, 'could not stop this container');
        return false;
      });
    }
    if (!stopped)
      log.warn(
        {
          event: 'decommission_manual_stop',
          hint: 'stop and remove this agent (container or service) yourself; it exits now and stays silent if started',
          tombstone: tombstones.file,
        },
        'decommissioned: exiting',
      );
    deps.onDecommissioned(stopped);
  };
  // Bound late: the heartbeat reads the tree's health, and the tree is built from the actors that send it.
  let healthOf: (() => Record<string, unknown>) | undefined = undefined;
  const built = buildAgentTree({
    config,
    runtime,
    log,
    client,
    docker,
    swarm,
    store,
    outbox,
    board,
    version,
    healthSummary: () => (config.heartbeat.includeHealth ? healthOf?.() : undefined),
    learnSecret: (token) => {
      redactor.addSecret(token);
    },
    tombstones,
    self,
    onDecommissioned: () => {
      void finishDecommission();
    },
  });
  const tree = startTree({ ...built, runtime, log, onFatal: deps.onFatal });
  healthOf = () =>
    compactHealth(tree.health(), {
      masterContactAgeMs: client.lastSuccessAgeMs,
      outboxQueued: outbox.size,
      outboxDropped: outbox.dropped,
    });

  const sup = config.supervision;
  const workerNames = ['tunnel-keeper', 'reporter', 'event-watcher', 'command-poller'];
  const rootChildren = ['registration', 'workers'];
  type Owner = ChaosTopology['owners'] extends ReadonlyMap<string, infer O> ? O : never;
  const owners = new Map<string, Owner>();
  for (const a of rootChildren)
    owners.set(a, { supervisor: 'root', ref: built.rootCell, limit: sup.root, siblings: rootChildren });
  for (const a of workerNames)
    owners.set(a, { supervisor: 'workers', ref: built.cells.workers, limit: sup.workers, siblings: workerNames });
  const topology: ChaosTopology = { owners };
  const chaos = new ChaosMonkey(config.chaos, topology, { clock, log, health: () => tree.health() });
  const inputs = () => ({
    snapshot: tree.health(),
    facts: board.read(),
    masterLastSuccessAt: client.lastSuccessAt,
    masterContactAgeMs: client.lastSuccessAgeMs,
    lifecycle: tombstones.lifecycle,
    contactMs: config.health.masterContactMs,
  });
  return {
    tree,
    cells: built.cells,
    board,
    client,
    outbox,
    store,
    tombstones,
    chaos,
    healthRecord: () => ({
      event: 'health',
      ...tree.health(),
      status: board.read(),
      masterLastSuccessAt: client.lastSuccessAt,
    }),
    healthReport: () => healthReport(inputs()),
    livenessReport: () => livenessReport(tree.health()),
    metrics: () => metricsText({ ...inputs(), master: client.stats() }),
  };
}
