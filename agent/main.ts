/**
 * Composition root: config → logger → state → tree → signal handling. The only place that reads configuration;
 * everything below gets typed slices. Returns when the agent runs; the process ends through `exit`.
 */
import { systemClock } from '../supervisor/clock.js';
import { ConfigError, loadConfig } from './config/config.js';
import { EXIT } from './exit-codes.js';
import { LagProbe } from './lag-probe.js';
import { createLogger } from '../log/logger.js';
import { Redactor } from '../log/redact.js';
import { agentVersion } from './version.js';
import { assembleAgent, loggableUrl } from './assemble.js';
import { decideDockerMode } from './docker-mode.js';
import { DockerodeSwarmPort } from '../docker/dockerode-swarm.js';
import { dockerFromHost } from '../docker/dockerode-call.js';
import { installProcessGuards } from './process-guards.js';
import { startHealthServer, type RunningHealthServer } from './health-server.js';
import { installSignalHandlers } from './shutdown.js';
import { finalAckOwed, FileTombstoneStore } from '../persistence/tombstone.js';
import { FileStateStore } from '../persistence/state-files.js';
import { decommissionedReport } from './health-report.js';
import type { AgentConfig } from './config/config.js';
import type { Logger } from '../log/logger.js';

export interface MainIo {
  env: NodeJS.ProcessEnv;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  exit: (code: number) => void;
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
  const redactor = new Redactor([
    config.master.apiKey,
    config.access?.clientSecret,
    decodeURIComponent(masterUrl.password),
  ]);
  const log = createLogger({ level: config.log.level, redactor, write: io.stdout });
  installProcessGuards(log, io.exit);

  const version = agentVersion();
  log.info(
    {
      event: 'agent_starting',
      version,
      node: process.version,
      pid: process.pid,
      master: loggableUrl(config.master.url),
      dockerHost: config.docker.host,
      dataDir: config.agent.dataDir,
      cloudflaredImage: config.tunnel.image,
    },
    'dockflare-agent starting',
  );

  const tombstones = await FileTombstoneStore.open(config.agent.decommissionTombstonePath);
  if (tombstones.lifecycle === 'decommissioned' && !finalAckOwed(tombstones.current)) {
    await runDecommissioned(config, tombstones, { log, redactor }, io);
    return;
  }
  if (tombstones.lifecycle !== 'enrolled')
    log.info(
      { event: 'decommission_under_way_at_start', lifecycle: tombstones.lifecycle, tombstone: tombstones.file },
      'decommission under way: registering and polling only',
    );

  // Event-loop lag from the lateness of the agent's own timers: no sampling wake-ups in an idle process.
  const lag = new LagProbe();
  const clock = lag.wrap(systemClock);
  const decided = await decideDockerMode(config.docker.mode, config.tunnel.networkName, {
    swarm: new DockerodeSwarmPort(dockerFromHost(config.docker.host)),
    log,
    clock,
    random: Math.random,
  });
  if (!decided.ok) {
    io.stderr(`dockflare-agent: configuration error: ${decided.line}\n`);
    io.exit(EXIT.config);
    return;
  }
  const agent = await assembleAgent(config, {
    mode: decided.mode,
    log,
    redactor,
    clock,
    version,
    onFatal: (reason) => {
      log.fatal({ event: 'agent_fatal', err: reason, exitCode: EXIT.intensity }, 'root supervisor gave up; exiting');
      io.exit(EXIT.intensity);
    },
    onDecommissioned: (selfStopped) => {
      // Docker's stop sends our SIGTERM; without a container of our own the process ends the same way by itself.
      if (!selfStopped) process.kill(process.pid, 'SIGTERM');
    },
  });

  // The periodic health record is what `review` and a person reading the logs judge the host by.
  const healthRecord = (): Record<string, unknown> => ({
    ...agent.healthRecord(),
    eventLoopDelayMs: lag.snapshot(),
  });
  let healthTimer = clock.setTimeout(function logHealth() {
    log.info(healthRecord(), 'health');
    healthTimer = clock.setTimeout(logHealth, config.log.healthIntervalMs);
  }, config.log.healthIntervalMs);

  let server: RunningHealthServer | undefined;
  if (config.health.port !== 0) {
    try {
      server = await startHealthServer({
        port: config.health.port,
        bindAddress: config.health.bindAddress,
        log,
        chaos: agent.chaos,
        health: () => agent.healthReport(),
        liveness: () => agent.livenessReport(),
        metrics: () => agent.metrics(),
        redact: (text) => redactor.redact(text),
        clock,
      });
    } catch (err) {
      // The agent's job does not depend on it: keep running, say so loudly.
      log.error({ event: 'health_server_failed', port: config.health.port, err }, 'health server failed to start');
    }
  }
  agent.chaos.start();

  installSignalHandlers({
    log,
    budgetMs: config.supervision.shutdownBudgetMs,
    shutdown: async (budgetMs) => {
      healthTimer.cancel();
      agent.chaos.stop();
      await server?.close();
      const outcome = await agent.tree.shutdown(budgetMs);
      log.info(healthRecord(), 'final health');
      return outcome;
    },
    exit: io.exit,
  });
  log.info({ event: 'agent_started', version }, 'dockflare-agent running');
}

/**
 * A finalized (or unreadable) tombstone: the master has forgotten this agent and revoked its key. Nothing is
 * registered, no Docker call is made and no tunnel is started, after a reboot as much as after a restart; only
 * /health answers, and one line says how to reuse the host.
 */
async function runDecommissioned(
  config: AgentConfig,
  tombstones: FileTombstoneStore,
  { log, redactor }: { log: Logger; redactor: Redactor },
  io: MainIo,
): Promise<void> {
  // A stop between the finalized tombstone and the keeper's clean-up must not leave the token on the disk for good.
  const store = await FileStateStore.open({ dir: config.agent.dataDir, log, clock: systemClock, redactor });
  const tunnel = await store.loadTunnelState();
  if (tunnel.token !== null || tunnel.id !== null)
    await store.saveTunnelState({ token: null, id: null, name: null, desired_state: 'stopped' });
  let server: RunningHealthServer | undefined;
  if (config.health.port !== 0) {
    const report = decommissionedReport(tombstones.file);
    server = await startHealthServer({
      port: config.health.port,
      bindAddress: config.health.bindAddress,
      log,
      chaos: null,
      health: () => report,
      liveness: () => ({ httpStatus: 200, body: { status: 'alive', reasons: [] } }),
      metrics: () => '',
      redact: (text) => text,
    }).catch((err: unknown) => {
      log.error({ event: 'health_server_failed', port: config.health.port, err }, 'health server failed to start');
      return undefined;
    });
  }
  // Said once the health server listens: whoever reads this line can ask /health at once.
  log.warn(
    {
      event: 'agent_decommissioned',
      tombstone: tombstones.file,
      ...(tombstones.problem === null ? {} : { reason: tombstones.problem }),
      hint: 'to reuse this host, run `dockflare-agent decommission clear` (or delete the file) and give it a new key',
    },
    'agent decommissioned: staying silent',
  );
  // Idle, not exited: an exit under a restart policy would start it again and again, one log line each time.
  const idle = setInterval(() => undefined, 2 ** 31 - 1);
  installSignalHandlers({
    log,
    budgetMs: config.supervision.shutdownBudgetMs,
    shutdown: async () => {
      clearInterval(idle);
      await server?.close();
      return 'ok';
    },
    exit: io.exit,
  });
}
