/**
 * Scenario 3: a burst, as `docker compose up -d` and `down` of a stack make one. 52 labelled containers (46
 * dockflare.enable, 6 legacy cloudflare.tunnel.enable) and 4 with dockflare.enable=false are started in parallel, then
 * stopped in parallel, from a load-generator process. Latency starts at Docker's own event time (timeNano) and ends
 * at the master's receipt of the accepted event. Two controls (burst-controls.ts): a bare subscriber of the same
 * event stream beside the agent (the engine and the machine), and in a pass of its own with the same containers, a
 * serial poster with its own test master (the protocol floor: v2 allows one event request in flight). Run twice:
 * against a master that answers at once and one that takes 20 ms per event (the real master writes its state file
 * on every event). The scale scenario runs the same pair with 200 containers on a host of 500 (burstPair).
 */
import type { RecordedRequest, TestMaster } from '../spec/master/index.js';
import { bareSubscriber, protocolFloor } from './burst-controls.js';
import { createContainer, EventRecorder, removeForce, type BenchContainer } from './docker.js';
import { LoadWorker } from './load-worker.js';
import { acceptedByContainer, bodyType, masterWait, subscribed, withAgent, type BenchContext } from './session.js';
import { max, pause, percentile, round, say, waitUntil } from './util.js';

export interface LatencyStats {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}

export interface DeliveryStats {
  expected: number;
  delivered: number;
  lost: number;
  duplicates: number;
}

export interface BurstRun {
  masterDelayMs: number;
  labelled: number;
  delivery: DeliveryStats;
  /** Accepted events about `dockflare.enable=false` containers: must be 0. */
  unexpectedReports: number;
  /** Docker's event time → the master's receipt of the agent's accepted event (starts and stops). */
  agent: LatencyStats;
  /** Docker's event time → the bare subscriber's receipt of the same event. */
  bare: LatencyStats;
  /** Docker's event time → the floor master's receipt of the serial poster's accepted event (a pass of its own). */
  floor: LatencyStats;
  /** The bare subscriber in the floor's pass. */
  floorBare: LatencyStats;
  /** Events the bare subscriber or the bench's own subscription did not see (no latency for them). */
  unseen: number;
  /** The five slowest of the subject's events: when Docker told them (from the burst's first event) and how long. */
  slowest: { action: string; atMs: number; bareMs: number; subjectMs: number }[];
  /** Wall time from the first Docker event of the burst to the last event the master accepted. */
  spanMs: number | null;
}

export interface BurstPairResult {
  fast: BurstRun;
  slow: BurstRun;
}

export interface BurstResult extends BurstPairResult {
  settings: string;
}

/** How many containers of each kind a burst starts and stops. */
export interface BurstPlan {
  labelled: number;
  legacy: number;
  disabled: number;
}

/** One burst pair's agent settings: its name in the logs, environment and master limits. */
export interface BurstSetting {
  name: string;
  plan: BurstPlan;
  env: Record<string, string>;
  masterLimits: { maxRequestBytes?: number; maxContainers?: number };
}

const LABELLED = { 'dockflare.enable': 'true', 'dockflare.hostname': 'burst.example.com' };
const LEGACY = { 'cloudflare.tunnel.enable': 'true', 'cloudflare.tunnel.hostname': 'legacy.example.com' };
const DISABLED = { 'dockflare.enable': 'false', 'dockflare.hostname': 'never.example.com' };
const COUNTS: BurstPlan = { labelled: 46, legacy: 6, disabled: 4 };
export const SLOW_MASTER_MS = 20;
/** From the agent's first status report to the burst. */
const AGENT_SETTLE_MS = 5000;
const CREATE_CHUNK = 25;

type Made = BenchContainer & { managed: boolean };

export function latencyStats(xs: number[]): LatencyStats {
  return {
    count: xs.length,
    p50Ms: round(percentile(xs, 50)),
    p95Ms: round(percentile(xs, 95)),
    maxMs: round(max(xs)),
  };
}

/** One pass's figures: the subject's (agent's or floor's) delivery and latency, the bare subscriber's latency. */
type Pass = Omit<BurstRun, 'masterDelayMs' | 'labelled' | 'floor' | 'floorBare'>;

/** Latency, delivery and stray reports of one pass, from its master's records and the bare subscriber's receipts. */
function measure(made: Made[], master: TestMaster, rec: EventRecorder, bareSeen: Map<string, number>): Pass {
  const managed = made.filter((c) => c.managed);
  const subjectLat: number[] = [];
  const timeline: { action: string; eventMs: number; bareMs: number; subjectMs: number }[] = [];
  const bareLat: number[] = [];
  let delivered = 0;
  let duplicates = 0;
  let unseen = 0;
  let firstEvent = Infinity;
  let lastReceipt = -Infinity;
  for (const [type, action] of [
    ['container_start', 'start'],
    ['container_stop', 'die'],
  ] as const) {
    const got = acceptedByContainer(master, type);
    for (const c of managed) {
      const list: RecordedRequest[] = got.get(c.id) ?? [];
      if (list.length > 0) delivered++;
      duplicates += Math.max(0, list.length - 1);
      const ev = rec.first((e) => e.id === c.id && e.action === action);
      const bareAt = bareSeen.get(`${c.id} ${action}`);
      if (!ev || bareAt === undefined) {
        unseen++;
        continue;
      }
      firstEvent = Math.min(firstEvent, ev.ms);
      bareLat.push(bareAt - ev.ms);
      if (list[0]) {
        subjectLat.push(list[0].at - ev.ms);
        timeline.push({ action, eventMs: ev.ms, bareMs: bareAt - ev.ms, subjectMs: list[0].at - ev.ms });
        lastReceipt = Math.max(lastReceipt, list[0].at);
      }
    }
  }
  const disabledIds = new Set(made.filter((c) => !c.managed).map((c) => c.id));
  const unexpected = [
    ...acceptedByContainer(master, 'container_start'),
    ...acceptedByContainer(master, 'container_stop'),
  ]
    .filter(([id]) => disabledIds.has(id))
    .reduce((n, [, list]) => n + list.length, 0);
  const expected = managed.length * 2;
  return {
    delivery: { expected, delivered, lost: expected - delivered, duplicates },
    unexpectedReports: unexpected,
    agent: latencyStats(subjectLat),
    bare: latencyStats(bareLat),
    unseen,
    slowest: timeline
      .sort((x, y) => y.subjectMs - x.subjectMs)
      .slice(0, 5)
      .map((t) => ({
        action: t.action,
        atMs: round(t.eventMs - firstEvent) ?? 0,
        bareMs: round(t.bareMs) ?? 0,
        subjectMs: round(t.subjectMs) ?? 0,
      })),
    spanMs: Number.isFinite(firstEvent) && Number.isFinite(lastReceipt) ? round(lastReceipt - firstEvent) : null,
  };
}

/** Runs `fn` with the subject's master once the subject is ready for a burst. */
type Subject = (fn: (master: TestMaster) => Promise<Pass>) => Promise<Pass>;

/** The agent as the subject: spawned with the setting, subscribed, its start-up report delivered. */
function agentSubject(ctx: BenchContext, name: string, masterDelayMs: number, setting: BurstSetting): Subject {
  return (fn) =>
    withAgent(
      ctx,
      name,
      setting.env,
      async (s) => {
        if (masterDelayMs > 0)
          s.master.addFault({ fault: { kind: 'slow', delayMs: masterDelayMs }, endpoint: 'events' });
        if (!(await subscribed(s, ctx.deadline.bound(20_000))))
          throw new Error('the agent did not subscribe to Docker events within 20 s');
        // The start-up (its reports, hundreds of containers at scale) is not part of the burst: a stack comes up on
        // an agent that has been running for a while.
        await masterWait(
          s.master,
          (r) => r.endpoint === 'events' && bodyType(r) === 'status_report' && r.status < 300,
          ctx.deadline.bound(20_000),
        );
        await pause(ctx.deadline.bound(AGENT_SETTLE_MS));
        return fn(s.master);
      },
      setting.masterLimits,
    );
}

/** The protocol floor as the subject: the serial poster with its own master, in a pass of its own. */
function floorSubject(ctx: BenchContext, masterDelayMs: number, setting: BurstSetting): Subject {
  return async (fn) => {
    const floor = await protocolFloor(ctx.deadline.bound(10_000), masterDelayMs, setting.masterLimits);
    try {
      return await fn(floor.master);
    } finally {
      await floor.stop();
    }
  };
}

/** One pass: the containers started in parallel, then stopped in parallel, while the subject reports them. */
async function burstPass(ctx: BenchContext, made: Made[], name: string, subject: Subject): Promise<Pass> {
  const rec = await EventRecorder.start(ctx.docker);
  const load = await LoadWorker.start();
  const bare = await bareSubscriber(ctx.deadline.bound(10_000));
  try {
    return await subject(async (master) => {
      const managed = made.filter((c) => c.managed);
      const accepted = (type: 'container_start' | 'container_stop'): number => {
        const got = acceptedByContainer(master, type);
        return managed.filter((c) => got.has(c.id)).length;
      };
      const ids = made.map((c) => c.id);
      const boundMs = ctx.deadline.bound(30_000 + managed.length * 2 * SLOW_MASTER_MS);
      await load.run('start', ids);
      await waitUntil(() => accepted('container_start') === managed.length, boundMs, 20);
      await load.run('stop', ids);
      await waitUntil(() => accepted('container_stop') === managed.length, boundMs, 20);
      // A late duplicate (a retry after an accepted event) would arrive in this pause.
      await new Promise((r) => setTimeout(r, ctx.deadline.bound(1500)));
      say(
        `${name}: ${accepted('container_start')}/${managed.length} starts, ${accepted('container_stop')}/${managed.length} stops`,
      );
      return measure(made, master, rec, bare.seen);
    });
  } finally {
    bare.stop();
    load.close();
    rec.close();
  }
}

/** The agent's pass, then the protocol floor's pass with the same containers and the same master delay. */
async function burstRun(
  ctx: BenchContext,
  made: Made[],
  masterDelayMs: number,
  setting: BurstSetting,
): Promise<BurstRun> {
  const name = `${setting.name}-${masterDelayMs}ms`;
  const agent = await burstPass(ctx, made, name, agentSubject(ctx, name, masterDelayMs, setting));
  ctx.deadline.check(`the protocol floor of ${name}`);
  const floor = await burstPass(ctx, made, `${name} protocol floor`, floorSubject(ctx, masterDelayMs, setting));
  return {
    masterDelayMs,
    labelled: made.filter((c) => c.managed).length,
    ...agent,
    floor: floor.agent,
    floorBare: floor.bare,
  };
}

/** Creates the plan's containers (before any agent runs: create work must not blur the timing), runs both bursts. */
export async function burstPair(ctx: BenchContext, setting: BurstSetting): Promise<BurstPairResult> {
  const kinds = [
    ...Array.from({ length: setting.plan.labelled }, () => ({ labels: LABELLED, managed: true })),
    ...Array.from({ length: setting.plan.legacy }, () => ({ labels: LEGACY, managed: true })),
    ...Array.from({ length: setting.plan.disabled }, () => ({ labels: DISABLED, managed: false })),
  ];
  const made: Made[] = [];
  try {
    for (let i = 0; i < kinds.length; i += CREATE_CHUNK) {
      const chunk = kinds.slice(i, i + CREATE_CHUNK);
      const batch = await Promise.all(
        chunk.map(async (k) => ({
          ...(await createContainer(ctx.docker, k.labels, 'dfa-bench-burst')),
          managed: k.managed,
        })),
      );
      made.push(...batch);
    }
    const fast = await burstRun(ctx, made, 0, setting);
    ctx.deadline.check(`the ${setting.name} against a slow master`);
    const slow = await burstRun(ctx, made, SLOW_MASTER_MS, setting);
    return { fast, slow };
  } finally {
    await Promise.all(made.map((c) => removeForce(ctx.docker, c.id).catch(() => undefined)));
  }
}

export async function burstScenario(ctx: BenchContext): Promise<BurstResult> {
  const pair = await burstPair(ctx, { name: 'burst', plan: COUNTS, env: {}, masterLimits: {} });
  return {
    settings: `agent defaults; ${COUNTS.labelled} dockflare.enable=true + ${COUNTS.legacy} cloudflare.tunnel.enable=true + ${COUNTS.disabled} dockflare.enable=false containers started in parallel, then stopped in parallel, from a load-generator process; controls: a bare subscriber process (bench/bare-subscriber.mjs) and a serial poster with its own test master (bench/bare-poster.mjs), both with the agent's node flags`,
    ...pair,
  };
}
