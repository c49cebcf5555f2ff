/**
 * Composition root: config → logger → state → tree → signal handling. The only place that reads configuration;
 * everything below gets typed slices. Returns when the agent runs; the process ends through `exit`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { systemClock } from '../lib/clock.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import { EXIT } from '../lib/exit-codes.js';
import { createLogger } from '../lib/logger.js';
import { Redactor } from '../lib/redact.js';
import { agentVersion } from '../lib/version.js';
import { DockerodePort, dockerFromHost } from '../lib/docker/dockerode-port.js';
import { HttpMasterClient } from '../lib/master/client.js';
import { Outbox } from '../persistence/outbox.js';
import { FileStateStore } from '../persistence/state-files.js';
import { buildAgentTree } from './agent-tree.js';
import { installProcessGuards } from './guards.js';
import { compactHealth } from './health.js';
import { installSignalHandlers } from './shutdown.js';
import { StatusBoard } from './status-board.js';
import { startTree } from './tree.js';

/** Events kept for the master while it is unreachable; beyond this the oldest go (and a full report follows). */
const OUTBOX_CAPACITY = 1000;

export interface MainIo {
  env: NodeJS.ProcessEnv;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  exit: (code: number) => void;
}

/** The master URL as it may be logged: credentials masked, path kept. */
function loggableUrl(raw: string): string {
  const url = new URL(raw);
  if (url.username || url.password) { url.username = 'REDACTED'; url.password = ''; }
  return url.toString().replace(/\/$/, '');
}

export async function runAgent(io: MainIo): Promise<void> {
  let config;
  try {
    config = loadConfig(io.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`dockflare-agent: configuration error: ${err.message}\n`);
      io.exit(EXIT.config);
      return;
    }
    throw err;
  }
  const masterUrl = new URL(config.master.url);
  const redactor = new Redactor([config.master.apiKey, config.access?.clientSecret, decodeURIComponent(masterUrl.password)]);
  const log = createLogger({ level: config.log.level, redactor, write: io.stdout });
  installProcessGuards(log, io.exit);

  const version = agentVersion();
  log.info({
    event: 'agent_starting', version, node: process.version, pid: process.pid, master: loggableUrl(config.master.url),
    dockerHost: config.docker.host, dataDir: config.agent.dataDir, cloudflaredImage: config.tunnel.image,
  }, 'dockflare-agent starting');

  const clock = systemClock;
  const store = await FileStateStore.open({ dir: config.agent.dataDir, log, clock, redactor });
  const agentId = await store.loadAgentId();
  const tunnel = await store.loadTunnelState();
  log.info({
    event: 'state_loaded', agentId: agentId ?? null, writable: store.writable,
    tunnel: { id: tunnel.id, name: tunnel.name, desiredState: tunnel.desired_state, hasToken: tunnel.token !== null },
  }, 'local state loaded');

  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const runtime = { clock, handlerTimeoutMs: config.supervision.handlerTimeoutMs, random: Math.random };
  const board = new StatusBoard(loggableUrl(config.master.url));
  const client = new HttpMasterClient({
    baseUrl: config.master.url, apiKey: config.master.apiKey, access: config.access, timeoutMs: config.master.requestTimeoutMs,
    caFile: config.master.caFile, userAgent: `dockflare-agent/${version}`, clock, log, redactor,
  });
  const outbox = await Outbox.open(store.writable ? config.agent.dataDir : null, OUTBOX_CAPACITY, log, clock);
  const docker = new DockerodePort(dockerFromHost(config.docker.host));
  // Bound late: the heartbeat reads the tree's health, and the tree is built from the actors that send it.
  let healthOf: (() => Record<string, unknown>) | undefined = undefined;
  const built = buildAgentTree({
    config, runtime, log, client, docker, store, outbox, board, version,
    healthSummary: () => (config.heartbeat.includeHealth ? healthOf?.() : undefined),
  });
  const tree = startTree({
    ...built,
    runtime,
    log,
    onFatal: (reason) => {
      log.fatal({ event: 'agent_fatal', err: reason, exitCode: EXIT.intensity }, 'root supervisor gave up; exiting so that Docker restarts the agent');
      io.exit(EXIT.intensity);
    },
  });

  healthOf = () => compactHealth(tree.health(), { masterLastSuccessAt: client.lastSuccessAt, outboxQueued: outbox.size, outboxDropped: outbox.dropped }, clock.now());

  // The periodic health record is what `review` and a person reading the logs judge the host by.
  const healthRecord = (): Record<string, unknown> => ({
    event: 'health', ...tree.health(), status: board.read(), masterLastSuccessAt: client.lastSuccessAt, eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, max: loopDelay.max / 1e6 },
  });
  let healthTimer = clock.setTimeout(function logHealth() {
    log.info(healthRecord(), 'health');
    healthTimer = clock.setTimeout(logHealth, config.log.healthIntervalMs);
  }, config.log.healthIntervalMs);

  installSignalHandlers({
    log,
    budgetMs: config.supervision.shutdownBudgetMs,
    shutdown: async (budgetMs) => {
      healthTimer.cancel();
      const outcome = await tree.shutdown(budgetMs);
      loopDelay.disable();
      log.info(healthRecord(), 'final health');
      return outcome;
    },
    exit: io.exit,
  });
  log.info({ event: 'agent_started', version, agentId: agentId ?? null }, 'dockflare-agent running');
}
