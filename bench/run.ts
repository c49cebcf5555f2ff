/**
 * `npm run bench`: the agent as users run it (built dist, real process) against the real Docker Engine of
 * scripts/with-dockerd.sh and the in-repo test master. Nine scenarios, each bounded, the whole run under one
 * deadline; results as JSON (bench/results.json and stdout) plus a markdown table with PASS/MISS per target.
 * Every container, network and process it creates is removed at the end, also after a failure or Ctrl-C.
 * BENCH_ONLY=startup,idle,events,tunnel,resilience,scale runs a subset (for diagnosing one figure); default: all.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AGENT_COMMAND_TEXT, BENCH_NETWORK, ensureBuilt, killAllTracked, ROOT, sourceState } from './agent.js';
import { cleanupDocker, dockerClient, RUN_ID, socketPath } from './docker.js';
import { foreignDaemons } from './proc.js';
import { evaluate, machine, markdown } from './report.js';
import type { Results } from './verdict.js';
import { burstScenario } from './scenario-burst.js';
import { scaleScenario } from './scenario-scale.js';
import { idleScenario, startupScenario } from './scenario-process.js';
import { resilienceScenarios } from './scenario-resilience.js';
import { tunnelScenarios } from './scenario-tunnel.js';
import { MASTER_KEEPALIVE_MS, MASTER_KEEPALIVE_OVERRIDDEN, type BenchContext } from './session.js';
import { Deadline, errorText, say } from './util.js';

/** Scenarios stop starting new work here; the hard limit below is only for a wait that ignores the deadline. */
const BUDGET_MS = 36 * 60_000;
const HARD_LIMIT_MS = 38 * 60_000;
const RESULTS_FILE = path.join(ROOT, 'bench/results.json');

const startedAt = Date.now();
const docker = dockerClient();
const results: Results = {};
let output: Record<string, unknown> = {};
/** Machine load when each scenario began: other work on the host shows up in every latency figure. */
const contention: Record<string, { loadavg1m: number; foreignDockerDaemons: string[] }> = {};
const only = new Set(
  (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== ''),
);
const selected = (name: string): boolean => only.size === 0 || only.has(name);

function noteContention(name: string): void {
  contention[name] = {
    loadavg1m: Number((os.loadavg()[0] ?? 0).toFixed(2)),
    foreignDockerDaemons: foreignDaemons(socketPath()),
  };
}

async function cleanup(): Promise<void> {
  killAllTracked();
  const problems = await cleanupDocker(docker, BENCH_NETWORK);
  if (problems.length > 0) say(`cleanup problems: ${problems.join('; ')}`);
}

async function writeResults(complete: boolean): Promise<void> {
  const rows = evaluate(results);
  noteContention('end');
  output = { ...output, complete, totalRunMs: Date.now() - startedAt, contention, results, targets: rows };
  const json = JSON.stringify(output, null, 2);
  await writeFile(RESULTS_FILE, `${json}\n`);
  process.stdout.write(`${json}\n\n${markdown(rows)}\n\n`);
  const m = output.machine as Record<string, unknown> | undefined;
  if (m)
    process.stdout.write(
      `machine: ${String(m.nproc)} CPU(s) ${String(m.cpuModel)}, ${String(m.totalMemoryMb)} MB, node ${String(m.node)}, kernel ${String(m.kernel)}, Docker ${String(m.dockerServer)}, ${String(m.date)}\n`,
    );
  const load = Object.entries(contention)
    .map(([k, v]) => `${k} ${v.loadavg1m}`)
    .join(', ');
  const foreign = [...new Set(Object.values(contention).flatMap((v) => v.foreignDockerDaemons))];
  process.stdout.write(
    `load average (1 min) at scenario start: ${load}; other dockerd processes seen: ${foreign.length === 0 ? 'none' : foreign.join(' | ')}\n`,
  );
  process.stdout.write(
    `total run time: ${((Date.now() - startedAt) / 1000).toFixed(1)} s; results in ${RESULTS_FILE}\n`,
  );
}

/** Runs one scenario; a failure is recorded as its result and the run goes on with the next one. */
async function step<K extends keyof Results>(
  ctx: BenchContext,
  key: K,
  title: string,
  fn: () => Promise<NonNullable<Results[K]>>,
): Promise<void> {
  if (!selected(key)) return;
  if (ctx.deadline.remaining() <= 0) {
    results[key] = { error: 'not run: the run deadline was reached' };
    return;
  }
  say(`── ${title}`);
  noteContention(key);
  try {
    results[key] = await fn();
  } catch (err) {
    say(`${title} failed: ${errorText(err)}`);
    results[key] = { error: errorText(err) };
  }
}

async function main(): Promise<void> {
  await docker.ping().catch(() => {
    throw new Error(
      'no Docker Engine reachable: run through `npm run bench` (scripts/with-dockerd.sh) or set DOCKER_HOST',
    );
  });
  const build = ensureBuilt();
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'dfa-bench-logs-'));
  output = {
    runId: RUN_ID,
    machine: await machine(docker),
    agent: { command: AGENT_COMMAND_TEXT, build, source: sourceState() },
    agentLogs: logDir,
    master: {
      idleConnectionMs: MASTER_KEEPALIVE_MS,
      note: MASTER_KEEPALIVE_OVERRIDDEN
        ? "BENCH_MASTER_KEEPALIVE_MS (diagnosis): not the real master's behaviour"
        : 'as the real master: waitress closes idle connections after channel_timeout (360 s in DockFlare v3.1.x)',
    },
  };
  say(`run ${RUN_ID}: agent logs in ${logDir}`);
  const ctx: BenchContext = { docker, deadline: new Deadline(BUDGET_MS), logDir };

  await step(ctx, 'startup', '1. start-up (5 runs, default intervals)', () => startupScenario(ctx));
  await step(ctx, 'idle', '2. idle footprint (3 × 60 s; then 60 s with the poll at 5 s, 60 s on a busy host)', () =>
    idleScenario(ctx),
  );
  await step(ctx, 'events', '3. a burst of 52: latency net of the engine, loss', () => burstScenario(ctx));
  await step(ctx, 'tunnel', '4, 5, 8. tunnel command, kill / rm -f, SIGTERM', () => tunnelScenarios(ctx));
  if (selected('resilience') && ctx.deadline.remaining() > 0) {
    say('── 6, 7. daemon restart, master outage');
    noteContention('resilience');
    try {
      const r = await resilienceScenarios(ctx);
      results.daemon = r.daemon;
      results.outage = r.outage;
    } catch (err) {
      results.daemon = results.daemon ?? { error: errorText(err) };
      results.outage = results.outage ?? { error: errorText(err) };
    }
  }
  await step(ctx, 'scale', '9. a quiet host at 0, 100 and 500 containers', () => scaleScenario(ctx));
}

let finishing = false;
async function finish(complete: boolean, code: number): Promise<void> {
  if (finishing) return;
  finishing = true;
  try {
    await cleanup();
    await writeResults(complete);
  } catch (err) {
    process.stderr.write(`bench: while finishing: ${errorText(err)}\n`);
    code = code || 1;
  }
  process.exit(code);
}

const hard = setTimeout(() => {
  say(`hard limit of ${HARD_LIMIT_MS / 60_000} min reached: stopping everything and writing partial results`);
  void finish(false, 2);
}, HARD_LIMIT_MS);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`${sig}: cleaning up`);
    void finish(false, 130);
  });
}

main().then(
  () => {
    clearTimeout(hard);
    return finish(true, 0);
  },
  (err: unknown) => {
    clearTimeout(hard);
    process.stderr.write(`bench: ${errorText(err)}\n`);
    return finish(false, 1);
  },
);
