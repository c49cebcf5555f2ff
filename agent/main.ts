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
import { installProcessGuards } from './process-guards.js';
import { startHealthServer, type RunningHealthServer } from './health-server.js';
import { installSignalHandlers } from './shutdown.js';

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

  // Event-loop lag from the lateness of the agent's own timers: no sampling wake-ups in an idle process.
  const lag = new LagProbe();
  const clock = lag.wrap(systemClock);
  const agent = await assembleAgent(config, {
    log,
    redactor,
    clock,
    version,
    onFatal: (reason) => {
      log.fatal({ event: 'agent_fatal', err: reason, exitCode: EXIT.intensity }, 'root supervisor gave up; exiting');
      io.exit(EXIT.intensity);
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
