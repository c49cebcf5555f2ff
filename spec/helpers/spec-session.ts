/**
 * What one integration test starts (test masters, agents in-process or as processes, temp directories) and must
 * stop whatever happens to the test. `useSpecSession()` registers one mocha afterEach that ends them all, newest
 * first, then runs the spec's own clean-up (its containers, the tunnel container), so each spec file no longer
 * keeps its own `let master`, `let agent`, `let dataDir` and a hand-written afterEach that must not forget one.
 * When a test failed, the last log records of each agent (in-process or process) are printed before they are gone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestMaster, type TestMasterOptions } from '../master/index.js';
import { startInProcessAgent, type InProcessAgent } from './agent-harness.js';
import { startAgentProcess, type AgentProcess } from './agent-process.js';
import { agentProcessEnv, killIfRunning } from './docker-process.js';
import { tail } from './log-sink.js';

export interface InProcessOptions {
  env?: Record<string, string>;
  dataDir?: string;
  key?: string;
  outboxCapacity?: number;
  /** A container id of the test engine the agent takes for its own (see agent-harness.ts). */
  selfHostname?: string;
}
export interface ProcessOptions {
  env?: Record<string, string>;
  dataDir?: string;
  key?: string;
  args?: string[];
}

export interface SpecSession {
  /** Starts a test master (v2 unless told), stopped after the test; later calls to agent() use the latest one. */
  master(opts?: Partial<TestMasterOptions>): Promise<TestMaster>;
  /** The latest master; throws when the test started none. */
  readonly current: TestMaster;
  /** A real agent in this process against the latest master, with a fresh key unless one is given. */
  agent(opts?: InProcessOptions): Promise<InProcessAgent>;
  /** The agent as a process (cli/main.ts) against the latest master, with a temp data directory unless given. */
  process(opts?: ProcessOptions): Promise<AgentProcess>;
  /** A temp directory removed after the test. */
  tempDir(prefix: string): Promise<string>;
}

type Stopper = () => Promise<unknown>;

export function useSpecSession(cleanup?: () => Promise<void>): SpecSession {
  let stoppers: Stopper[] = [];
  let latest: TestMaster | undefined;
  let agents: InProcessAgent[] = [];
  let processes: AgentProcess[] = [];

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const a of agents) console.log(tail(a.sink));
      for (const p of processes) console.log(tail(p.lines, 80));
    }
    const pending = stoppers.reverse();
    stoppers = [];
    agents = [];
    processes = [];
    latest = undefined;
    const errors: unknown[] = [];
    for (const stop of pending) {
      try {
        await stop();
      } catch (err) {
        errors.push(err);
      }
    }
    if (cleanup) await cleanup();
    if (errors.length > 0) throw new AggregateError(errors, 'spec session clean-up failed');
  });

  const current = (): TestMaster => {
    if (!latest) throw new Error('spec session: no test master started in this test');
    return latest;
  };
  const tempDir = async (prefix: string): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    stoppers.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };

  return {
    async master(opts = {}) {
      const master = await TestMaster.start({ mode: 'v2', ...opts });
      stoppers.push(() => master.stop());
      latest = master;
      return master;
    },
    get current() {
      return current();
    },
    async agent(opts = {}) {
      const master = current();
      const agent = await startInProcessAgent({
        master,
        key: opts.key ?? master.generateKey(),
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
        ...(opts.outboxCapacity !== undefined ? { outboxCapacity: opts.outboxCapacity } : {}),
        ...(opts.selfHostname !== undefined ? { selfHostname: opts.selfHostname } : {}),
      });
      stoppers.push(() => agent.stop());
      agents.push(agent);
      return agent;
    },
    async process(opts = {}) {
      const master = current();
      const dataDir = opts.dataDir ?? (await tempDir('dfa-proc-'));
      const proc = startAgentProcess(
        opts.args ?? [],
        agentProcessEnv({
          masterUrl: master.url,
          key: opts.key ?? master.generateKey(),
          dataDir,
          ...(opts.env ? { env: opts.env } : {}),
        }),
      );
      stoppers.push(() => killIfRunning(proc));
      processes.push(proc);
      return proc;
    },
    tempDir,
  };
}
