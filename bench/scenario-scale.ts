/**
 * Scenario 9: a quiet host costs the same whatever its size. The same agent settings at 0, 100 and 500 labelled
 * running containers (plus half as many unlabelled ones): report interval 5 s, command poll 2 s, tunnel check 5 s,
 * enrolled with its tunnel running, nothing changing. Per size: spawn → first complete status report listing every
 * labelled container, then RSS and CPU over a 60 s window after a 20 s settle, and CPU per report cycle. Each point
 * runs beside a bare node with the agent's flags, sampled over the same window. The points are drawn as an SVG
 * (bench/scale.svg) for the README.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT, spawnBareNode } from './agent.js';
import { createContainer, removeForce, type BenchContainer } from './docker.js';
import { LoadWorker } from './load-worker.js';
import { cpuPercent, sampleTree } from './proc.js';
import { bodyType, masterWait, registeredId, withAgent, type BenchContext } from './session.js';
import { burstPair, type BurstPairResult } from './scenario-burst.js';
import { errorText, median, pause, round, say } from './util.js';
import { scaleSvg } from './scale-chart.js';

export interface ScalePoint {
  labelled: number;
  unlabelled: number;
  /** Spawn → the master's receipt of the first complete status report listing every labelled container. */
  firstInventoryMs: number | null;
  rssMedianMb: number | null;
  cpuPercent: number | null;
  bareCpuPercent: number | null;
  reportsInWindow: number;
  /** Agent CPU over the window divided by the status reports in it: everything one 5 s cycle costs. */
  cpuPerReportCycleMs: number | null;
  /** Every status report in the window listed exactly the labelled containers, marked complete. */
  reportsCorrect: boolean;
}

export interface ScaleResult {
  settings: string;
  points: ScalePoint[];
  chart: string;
  /** The burst scenario's pair, 200 containers started and stopped on the host of the last point. */
  burst: BurstPairResult | { error: string };
}

/** #17: "a 200-container burst with the latency target of point 3", on the 500-container host. */
export const SCALE_BURST = { labelled: 180, legacy: 20, disabled: 10 };

export const SCALE_LEVELS = [0, 100, 500] as const;
const ENV = { REPORT_INTERVAL_SECONDS: '5', COMMAND_POLL_INTERVAL_SECONDS: '2', TUNNEL_CHECK_INTERVAL_SECONDS: '5' };
const LABELS = { 'dockflare.enable': 'true', 'dockflare.hostname': 'scale.example.com' };
const SETTLE_MS = 20_000;
const WINDOW_MS = 60_000;
const CHUNK = 25;
/**
 * A 500-container report is about 106 KB; the test master's default limits (64 KiB, 500 containers) refuse it with
 * 413, as a master left at such limits would. A master serving hosts this size is configured for them.
 */
const MASTER_LIMITS = { maxRequestBytes: 1024 * 1024, maxContainers: 2000 };

async function inChunks<T>(items: T[], fn: (chunk: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) await fn(items.slice(i, i + CHUNK));
}

async function grow(
  ctx: BenchContext,
  load: LoadWorker,
  have: { labelled: BenchContainer[]; other: BenchContainer[] },
  labelled: number,
): Promise<void> {
  const made: BenchContainer[] = [];
  const add = async (list: BenchContainer[], want: number, labels: Record<string, string>): Promise<void> => {
    const n = want - list.length;
    await inChunks(Array.from({ length: Math.max(0, n) }), async (chunk) => {
      const batch = await Promise.all(chunk.map(() => createContainer(ctx.docker, labels, 'dfa-bench-scale')));
      list.push(...batch);
      made.push(...batch);
    });
  };
  await add(have.labelled, labelled, LABELS);
  await add(have.other, labelled / 2, {});
  await inChunks(
    made.map((c) => c.id),
    (ids) => load.run('start', ids),
  );
}

async function point(ctx: BenchContext, labelled: BenchContainer[], unlabelled: number): Promise<ScalePoint> {
  const ids = new Set(labelled.map((c) => c.id));
  const bare = spawnBareNode();
  try {
    return await withAgent(
      ctx,
      `scale-${ids.size}`,
      ENV,
      async (s) => {
        const complete = (body: unknown): boolean => {
          const b = body as { inventory_complete?: unknown; containers?: { id: string }[] };
          return (
            b.inventory_complete === true &&
            Array.isArray(b.containers) &&
            b.containers.length === ids.size &&
            b.containers.every((c) => ids.has(c.id))
          );
        };
        const first = await masterWait(
          s.master,
          (r) => r.endpoint === 'events' && bodyType(r) === 'status_report' && complete(r.body),
          ctx.deadline.bound(30_000),
        );
        const reg = await registeredId(s, ctx.deadline.bound(5_000));
        if (reg) s.master.enroll(reg.agentId, `bench-scale-${ids.size}`);
        await pause(ctx.deadline.bound(SETTLE_MS));
        const [a0, b0] = [sampleTree(s.agent.pid), sampleTree(bare.pid ?? 0)];
        const rss: number[] = [];
        for (let t = 0; t < WINDOW_MS / 1000 && ctx.deadline.remaining() > 0; t++) {
          await pause(1000);
          rss.push(sampleTree(s.agent.pid).rssKb / 1024);
        }
        const [a1, b1] = [sampleTree(s.agent.pid), sampleTree(bare.pid ?? 0)];
        const reports = s.master.requests.filter(
          (r) => r.at >= a0.at && r.at <= a1.at && r.endpoint === 'events' && bodyType(r) === 'status_report',
        );
        const cpu = cpuPercent(a0, a1);
        const windowMs = a1.at - a0.at;
        return {
          labelled: ids.size,
          unlabelled,
          firstInventoryMs: first ? first.at - s.agent.spawnedAt : null,
          rssMedianMb: round(median(rss)),
          cpuPercent: round(cpu, 3),
          bareCpuPercent: round(cpuPercent(b0, b1), 3),
          reportsInWindow: reports.length,
          cpuPerReportCycleMs: reports.length > 0 ? round((cpu / 100) * (windowMs / reports.length), 2) : null,
          reportsCorrect: reports.length > 0 && reports.every((r) => complete(r.body)),
        };
      },
      MASTER_LIMITS,
    );
  } finally {
    bare.kill('SIGKILL');
  }
}

export async function scaleScenario(ctx: BenchContext): Promise<ScaleResult> {
  const load = await LoadWorker.start();
  const have = { labelled: [] as BenchContainer[], other: [] as BenchContainer[] };
  const points: ScalePoint[] = [];
  let burst: ScaleResult['burst'];
  try {
    for (const level of SCALE_LEVELS) {
      ctx.deadline.check(`scale point ${level}`);
      const began = Date.now();
      await grow(ctx, load, have, level);
      say(
        `scale: ${have.labelled.length} labelled + ${have.other.length} unlabelled running (${Date.now() - began} ms)`,
      );
      points.push(await point(ctx, have.labelled, have.other.length));
      const p = points.at(-1);
      say(
        `scale ${level}: first inventory ${String(p?.firstInventoryMs)} ms, RSS ${String(p?.rssMedianMb)} MB, CPU ${String(p?.cpuPercent)} % (bare ${String(p?.bareCpuPercent)} %), ${String(p?.cpuPerReportCycleMs)} ms per cycle`,
      );
    }
    say(`scale: a burst of ${SCALE_BURST.labelled + SCALE_BURST.legacy} on ${have.labelled.length} labelled`);
    // A deadline reached here, or a failed burst, costs the burst's rows only, not the points measured above.
    burst = await (async () => {
      ctx.deadline.check('the burst on the scaled host');
      return burstPair(ctx, { name: 'scale-burst', plan: SCALE_BURST, env: ENV, masterLimits: MASTER_LIMITS });
    })().catch((err: unknown) => ({ error: errorText(err) }));
  } finally {
    load.close();
    const all = [...have.labelled, ...have.other];
    await inChunks(all, async (chunk) => {
      await Promise.all(chunk.map((c) => removeForce(ctx.docker, c.id).catch(() => undefined)));
    });
  }
  const chart = path.join(ROOT, 'bench/scale.svg');
  await writeFile(chart, scaleSvg(points));
  return {
    settings: `${Object.entries(ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ', ',
      )}; enrolled, tunnel running; plus half as many unlabelled running containers; ${SETTLE_MS / 1000} s settle, ${WINDOW_MS / 1000} s window; the master's request limit raised to 1 MiB (its default 64 KiB refuses a 500-container report)`,
    points,
    chart: path.relative(ROOT, chart),
    burst,
  };
}
