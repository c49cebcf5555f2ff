/**
 * Wires the running agent from a validated configuration: state, boundaries (master client, Docker), the
 * outbox and the supervision tree. main.ts adds the process concerns (guards, signals, exit); specs call this
 * directly to run a real agent in-process against the test master and a real Docker Engine.
 */
import type { Clock } from '../lib/clock.js';
import type { AgentConfig } from '../lib/config.js';
import { DockerodePort, dockerFromHost } from '../lib/docker/dockerode-port.js';
import type { Logger } from '../lib/logger.js';
import { HttpMasterClient } from '../lib/master/client.js';
import type { Redactor } from '../lib/redact.js';
import { Outbox } from '../persistence/outbox.js';
import { FileStateStore } from '../persistence/state-files.js';
import { buildAgentTree, type AgentTree } from './agent-tree.js';
import { compactHealth } from './health.js';
import { StatusBoard } from './status-board.js';
import { startTree, type RunningTree } from './tree.js';

/** Events kept for the master while it is unreachable; beyond this the oldest go (and a full report follows). */
export const OUTBOX_CAPACITY = 1000;

export interface AssembleDeps {
  log: Logger;
  redactor: Redactor;
  clock: Clock;
  version: string;
  random?: () => number;
  outboxCapacity?: number;
  onFatal: (reason: Error) => void;
}

export interface AssembledAgent {
  tree: RunningTree;
  cells: AgentTree['cells'];
  board: StatusBoard;
  client: HttpMasterClient;
  outbox: Outbox;
  store: FileStateStore;
  /** The `health` log record: supervision snapshot plus published facts. */
  healthRecord(): Record<string, unknown>;
}

/** The master URL as it may be logged: credentials masked, path kept. */
export function loggableUrl(raw: string): string {
  const url = new URL(raw);
  if (url.username || url.password) { url.username = 'REDACTED'; url.password = ''; }
  return url.toString().replace(/\/$/, '');
}

export async function assembleAgent(config: AgentConfig, deps: AssembleDeps): Promise<AssembledAgent> {
  const { log, clock, redactor, version } = deps;
  const store = await FileStateStore.open({ dir: config.agent.dataDir, log, clock, redactor });
  const agentId = await store.loadAgentId();
  const tunnel = await store.loadTunnelState();
  log.info({
    event: 'state_loaded', agentId: agentId ?? null, writable: store.writable,
    tunnel: { id: tunnel.id, name: tunnel.name, desiredState: tunnel.desired_state, hasToken: tunnel.token !== null },
  }, 'local state loaded');

  const runtime = { clock, handlerTimeoutMs: config.supervision.handlerTimeoutMs, random: deps.random ?? Math.random };
  const board = new StatusBoard(loggableUrl(config.master.url));
  const client = new HttpMasterClient({
    baseUrl: config.master.url, apiKey: config.master.apiKey, access: config.access, timeoutMs: config.master.requestTimeoutMs,
    caFile: config.master.caFile, userAgent: `dockflare-agent/${version}`, clock, log, redactor,
  });
  const outbox = await Outbox.open(store.writable ? config.agent.dataDir : null, deps.outboxCapacity ?? OUTBOX_CAPACITY, log, clock);
  const docker = new DockerodePort(dockerFromHost(config.docker.host));
  // Bound late: the heartbeat reads the tree's health, and the tree is built from the actors that send it.
  let healthOf: (() => Record<string, unknown>) | undefined = undefined;
  const built = buildAgentTree({
    config, runtime, log, client, docker, store, outbox, board, version,
    healthSummary: () => (config.heartbeat.includeHealth ? healthOf?.() : undefined),
  });
  const tree = startTree({ ...built, runtime, log, onFatal: deps.onFatal });
  healthOf = () => compactHealth(tree.health(), { masterLastSuccessAt: client.lastSuccessAt, outboxQueued: outbox.size, outboxDropped: outbox.dropped }, clock.now());
  return {
    tree, cells: built.cells, board, client, outbox, store,
    healthRecord: () => ({ event: 'health', ...tree.health(), status: board.read(), masterLastSuccessAt: client.lastSuccessAt }),
  };
}
