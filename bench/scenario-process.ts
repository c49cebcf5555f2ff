/**
 * Scenarios 1 and 2: how fast the process is up, and what it costs while nothing happens.
 */
import { spawn } from 'node:child_process';
import { track } from './agent.js';
import { inspectOrNull, TUNNEL_CONTAINER } from './docker.js';
import { cpuPercent, sampleTree, type TreeSample } from './proc.js';
import { bodyType, masterWait, registeredId, withAgent, type BenchContext } from './session.js';
import { max, median, pause, round, say, waitUntil } from './util.js';

export interface StartupRun { registerMs: number | null; firstStatusReportMs: number | null; heartbeatMs: number | null }

export interface StartupResult {
  settings: string;
  runs: StartupRun[];
  registerMedianMs: number | null;
  heartbeatMedianMs: number | null;
  heartbeatsMissing: number;
}

/** Spawn → first register / first heartbeat at the master, with the agent's default intervals (what users run). */
export async function startupScenario(ctx: BenchContext, reps = 5): Promise<StartupResult> {
  const runs: StartupRun[] = [];
  for (let i = 0; i < reps; i++) {
    ctx.deadline.check(`start-up run ${i + 1}`);
    const run = await withAgent(ctx, `startup-${i + 1}`, {}, async (s) => {
      const since = s.agent.spawnedAt;
      const reg = await masterWait(s.master, (r) => r.endpoint === 'register', ctx.deadline.bound(15_000));
      const report = await masterWait(s.master, (r) => r.endpoint === 'events' && bodyType(r) === 'status_report', ctx.deadline.bound(10_000));
      // Bounded above the default 30 s report interval plus its 10 % jitter: a missing heartbeat is then a finding.
      const hb = await masterWait(s.master, (r) => r.endpoint === 'events' && bodyType(r) === 'heartbeat', ctx.deadline.bound(40_000));
      return {
        registerMs: reg ? reg.at - since : null,
        firstStatusReportMs: report ? report.at - since : null,
        heartbeatMs: hb ? hb.at - since : null,
      };
    });
    say(`start-up run ${i + 1}: register ${String(run.registerMs)} ms, status report ${String(run.firstStatusReportMs)} ms, heartbeat ${String(run.heartbeatMs)} ms`);
    runs.push(run);
  }
  const num = (xs: (number | null)[]): number[] => xs.filter((x): x is number => x !== null);
  const heartbeats = num(runs.map((r) => r.heartbeatMs));
  return {
    settings: 'agent defaults (REPORT_INTERVAL_SECONDS=30, COMMAND_POLL_INTERVAL_SECONDS=30)',
    runs,
    registerMedianMs: median(num(runs.map((r) => r.registerMs))),
    heartbeatMedianMs: heartbeats.length === runs.length ? median(heartbeats) : null,
    heartbeatsMissing: runs.length - heartbeats.length,
  };
}

export interface IdleResult {
  settings: string;
  windowSeconds: number;
  samples: number;
  agentRssMedianMb: number | null;
  agentRssMaxMb: number | null;
  bareRssMedianMb: number | null;
  bareRssMaxMb: number | null;
  rssRatio: number | null;
  agentCpuPercent: number | null;
  bareCpuPercent: number | null;
  requestsPerMinute: number | null;
  requestsByKind: Record<string, number>;
  agentPidsMax: number;
  tunnelRunning: boolean;
  /** The settling period before the window: the tunnel just started, first reports, lazy compilation, first GCs. */
  settleSeconds: number;
  settleCpuPercent: number | null;
}

/**
 * Idle means after start-up work: the window begins this long after the first heartbeat. The start-up phase
 * (tunnel container, first reports, compiling each code path on first use, V8's memory reducer) is reported
 * separately as settleCpuPercent, not hidden.
 */
const SETTLE_MS = 30_000;

const mb = (kb: number): number => kb / 1024;

/** 60 s of an enrolled agent with its tunnel up and nothing changing, next to a bare node process as the floor. */
export async function idleScenario(ctx: BenchContext, windowMs = 60_000): Promise<IdleResult> {
  const env = { REPORT_INTERVAL_SECONDS: '5', COMMAND_POLL_INTERVAL_SECONDS: '5' };
  const bare = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
  track(bare);
  try {
    return await withAgent(ctx, 'idle', env, async (s) => {
      const reg = await registeredId(s, ctx.deadline.bound(15_000));
      if (!reg) throw new Error('the agent did not register within 15 s');
      s.master.enroll(reg.agentId, 'bench-idle');
      // The steady state of a real host: enrolled, tunnel running, first heartbeat behind it.
      const tunnel = await waitUntil(async () => (await inspectOrNull(ctx.docker, TUNNEL_CONTAINER))?.State.Running, ctx.deadline.bound(20_000), 50);
      await masterWait(s.master, (r) => r.endpoint === 'events' && bodyType(r) === 'heartbeat', ctx.deadline.bound(10_000));
      const settleFrom = sampleTree(s.agent.pid);
      await pause(ctx.deadline.bound(SETTLE_MS));
      if (bare.pid === undefined) throw new Error('could not spawn the bare node process');
      say(`idle: sampling agent pid ${s.agent.pid} and bare node pid ${bare.pid} every second for ${windowMs / 1000} s`);
      const agentSamples: TreeSample[] = [];
      const bareSamples: TreeSample[] = [];
      const end = Date.now() + ctx.deadline.bound(windowMs);
      for (let next = Date.now(); ; next += 1000) {
        agentSamples.push(sampleTree(s.agent.pid));
        bareSamples.push(sampleTree(bare.pid));
        if (next + 1000 > end) break;
        await pause(next + 1000 - Date.now());
      }
      const [first, last, bareFirst, bareLast] = [agentSamples[0], agentSamples.at(-1), bareSamples[0], bareSamples.at(-1)];
      if (!first || !last || !bareFirst || !bareLast) throw new Error('no footprint samples (run deadline reached)');
      const windowS = (last.at - first.at) / 1000;
      const inWindow = s.master.requests.filter((r) => r.at >= first.at && r.at <= last.at);
      const byKind: Record<string, number> = {};
      for (const r of inWindow) {
        const kind = r.endpoint === 'events' ? `events:${String(bodyType(r))}` : r.endpoint;
        byKind[kind] = (byKind[kind] ?? 0) + 1;
      }
      const agentRss = agentSamples.map((x) => mb(x.rssKb));
      const bareRss = bareSamples.map((x) => mb(x.rssKb));
      const agentMed = median(agentRss);
      const bareMed = median(bareRss);
      return {
        settings: 'REPORT_INTERVAL_SECONDS=5, COMMAND_POLL_INTERVAL_SECONDS=5 (defaults are 30 s), TUNNEL_CHECK_INTERVAL_SECONDS=30 (default); enrolled, tunnel running; window from 30 s after the first heartbeat',
        windowSeconds: round(windowS, 1) ?? 0,
        samples: agentSamples.length,
        agentRssMedianMb: round(agentMed),
        agentRssMaxMb: round(max(agentRss)),
        bareRssMedianMb: round(bareMed),
        bareRssMaxMb: round(max(bareRss)),
        rssRatio: agentMed !== null && bareMed !== null && bareMed > 0 ? round(agentMed / bareMed, 2) : null,
        agentCpuPercent: windowS > 0 ? round(cpuPercent(first, last), 3) : null,
        bareCpuPercent: windowS > 0 ? round(cpuPercent(bareFirst, bareLast), 3) : null,
        requestsPerMinute: windowS > 0 ? round((inWindow.length / windowS) * 60, 1) : null,
        requestsByKind: byKind,
        agentPidsMax: Math.max(...agentSamples.map((x) => x.pids)),
        tunnelRunning: tunnel === true,
        settleSeconds: round((first.at - settleFrom.at) / 1000, 1) ?? 0,
        settleCpuPercent: round(cpuPercent(settleFrom, first), 3),
      };
    });
  } finally {
    bare.kill('SIGKILL');
  }
}
