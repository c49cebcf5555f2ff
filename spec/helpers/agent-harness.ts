import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../supervisor/clock.js';
import { loadConfig, type AgentConfig } from '../../agent/config/config.js';
import { Redactor } from '../../log/redact.js';
import { assembleAgent, type AssembledAgent } from '../../agent/assemble.js';
import { decideDockerMode } from '../../agent/docker-mode.js';
import { DockerodeSwarmPort } from '../../docker/dockerode-swarm.js';
import { dockerFromHost } from '../../docker/dockerode-call.js';
import type { TestMaster } from '../master/index.js';
import { CLOUDFLARED_IMAGE } from './docker.js';
import { LogSink } from './log-sink.js';

export const TEST_NETWORK = 'dockflare-test-net';

/** The environment of an agent under test, in-process or as a process: test master, test engine, short intervals. */
export function testAgentEnv(opts: {
  masterUrl: string;
  key: string;
  dataDir: string;
  env?: Record<string, string>;
}): Record<string, string> {
  return {
    DOCKFLARE_MASTER_URL: opts.masterUrl,
    DOCKFLARE_API_KEY: opts.key,
    AGENT_DATA_DIR: opts.dataDir,
    DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
    CLOUDFLARED_IMAGE,
    CLOUDFLARED_NETWORK_NAME: TEST_NETWORK,
    REPORT_INTERVAL_SECONDS: '1',
    // A heartbeat with every report, as before the two periods were apart: specs take a heartbeat as a sign of life.
    HEARTBEAT_INTERVAL_SECONDS: '1',
    COMMAND_POLL_INTERVAL_SECONDS: '1',
    TUNNEL_CHECK_INTERVAL_SECONDS: '2',
    // A quarter of the default: the confirm still runs (and sees a stand-in that exits at once), specs stay quick.
    TUNNEL_START_CONFIRM_MS: '500',
    REGISTER_RETRY_SECONDS: '2',
    MASTER_REQUEST_TIMEOUT_SECONDS: '2',
    HEALTH_CHECK_PORT: '0',
    LOG_LEVEL: 'debug',
    // Explicit: an engine left a swarm manager by an interrupted Swarm spec must not turn every other spec to Swarm.
    DOCKER_MODE: 'standalone',
    ...opts.env,
  };
}

export interface InProcessAgent {
  agent: AssembledAgent;
  sink: LogSink;
  config: AgentConfig;
  dataDir: string;
  fatal: Error[];
  /** One entry per finished decommission: whether the agent stopped its own container. */
  decommissioned: boolean[];
  /** Resolves with the first entry of `decommissioned`. */
  decommissionFinished: Promise<boolean>;
  /** Resolves with the agent id once the agent has registered (waits for the `registered` record). */
  registered(timeoutMs?: number): Promise<string>;
  /** Graceful shutdown as on SIGTERM; idempotent. Removes the data directory unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<'ok' | 'timeout'>;
}

/**
 * A real agent in this process: real HTTP to the test master, the real Docker Engine of with-dockerd.sh, real
 * files in a temp data directory, the system clock, and short intervals so specs finish quickly.
 */
export async function startInProcessAgent(opts: {
  master: TestMaster;
  key: string;
  env?: Record<string, string>;
  dataDir?: string;
  outboxCapacity?: number;
  /** Stands in for HOSTNAME: a container id of the test engine makes that container the agent's own. */
  selfHostname?: string;
}): Promise<InProcessAgent> {
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'dfa-agent-')));
  const config = loadConfig(
    testAgentEnv({ masterUrl: opts.master.url, key: opts.key, dataDir, ...(opts.env ? { env: opts.env } : {}) }),
  );
  const sink = new LogSink(new Redactor([config.master.apiKey]));
  const fatal: Error[] = [];
  const decommissioned: boolean[] = [];
  let finish: (selfStopped: boolean) => void = () => undefined;
  const decommissionFinished = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  // As main.ts decides it: Swarm specs say DOCKER_MODE=swarm or auto.
  const decided = await decideDockerMode(config.docker.mode, config.tunnel.networkName, {
    swarm: new DockerodeSwarmPort(dockerFromHost(config.docker.host)),
    log: sink.log,
    clock: systemClock,
    random: Math.random,
  });
  if (!decided.ok) throw new Error(`agent not started: ${decided.line}`);
  const agent = await assembleAgent(config, {
    mode: decided.mode,
    log: sink.log,
    redactor: sink.redactor,
    clock: systemClock,
    version: '2.0.0-test',
    ...(opts.outboxCapacity !== undefined ? { outboxCapacity: opts.outboxCapacity } : {}),
    onFatal: (err) => {
      fatal.push(err);
    },
    onDecommissioned: (selfStopped) => {
      decommissioned.push(selfStopped);
      finish(selfStopped);
    },
    // The machine running the specs is never taken for the agent's container unless a spec says which one is.
    selfHints: { hostname: opts.selfHostname, readMountinfo: () => Promise.resolve(null) },
  });
  let stopped: Promise<'ok' | 'timeout'> | undefined;
  return {
    agent,
    sink,
    config,
    dataDir,
    fatal,
    decommissioned,
    decommissionFinished,
    async registered(timeoutMs = 10_000) {
      const rec = await sink.waitFor((r) => r.event === 'registered', timeoutMs, 'registration');
      return String(rec.agentId);
    },
    async stop(stopOpts = {}) {
      stopped ??= agent.tree.shutdown(config.supervision.shutdownBudgetMs);
      const outcome = await stopped;
      if (!stopOpts.keepData && opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
      return outcome;
    },
  };
}
