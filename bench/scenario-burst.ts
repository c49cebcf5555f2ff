/**
 * Scenario 3: a burst, as `docker compose up -d` and `down` of a stack make one. 52 labelled containers (46
 * dockflare.enable, 6 legacy cloudflare.tunnel.enable) and 4 with dockflare.enable=false are started in parallel, then
 * stopped in parallel, from a load-generator process. Latency starts at Docker's own event time (timeNano) and ends
 * at the master's receipt of the accepted event. The control is a bare subscriber of the same event stream, its own
 * process with the agent's node flags (bare-subscriber.mjs): what the engine and the machine add before any agent
 * code runs. Run twice: against a master that answers at once and one that takes 20 ms per event (the real master
 * writes its state file on every event).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { RecordedRequest } from '../spec/master/index.js';
import { AGENT_COMMAND, ROOT, track } from './agent.js';
import { createContainer, EventRecorder, removeForce, type BenchContainer } from './docker.js';
import { LoadWorker } from './load-worker.js';
import { acceptedByContainer, subscribed, withAgent, type BenchContext } from './session.js';
import { max, percentile, round, say, waitUntil } from './util.js';

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
  /** Events the bare subscriber or the bench's own subscription did not see (no latency for them). */
  unseen: number;
  /** Wall time from the first Docker event of the burst to the last event the master accepted. */
  spanMs: number | null;
}

export interface BurstResult {
  settings: string;
  fast: BurstRun;
  slow: BurstRun;
}

const LABELLED = { 'dockflare.enable': 'true', 'dockflare.hostname': 'burst.example.com' };
const LEGACY = { 'cloudflare.tunnel.enable': 'true', 'cloudflare.tunnel.hostname': 'legacy.example.com' };
const DISABLED = { 'dockflare.enable': 'false', 'dockflare.hostname': 'never.example.com' };
const COUNTS = { labelled: 46, legacy: 6, disabled: 4 };
export const SLOW_MASTER_MS = 20;

export function latencyStats(xs: number[]): LatencyStats {
  return {
    count: xs.length,
    p50Ms: round(percentile(xs, 50)),
    p95Ms: round(percentile(xs, 95)),
    maxMs: round(max(xs)),
  };
}

/** The bare subscriber: resolves once subscribed; `seen` maps `<id> <action>` to its receipt time. */
async function bareSubscriber(timeoutMs: number): Promise<{ seen: Map<string, number>; stop: () => void }> {
  const child = spawn(process.execPath, [...AGENT_COMMAND.nodeFlags, path.join(ROOT, 'bench/bare-subscriber.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child);
  const seen = new Map<string, number>();
  let ready: () => void = () => undefined;
  const subscribedNow = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'subscribed') {
      ready();
      return;
    }
    const [id, action, at] = line.split(' ');
    if (id && action && at && !seen.has(`${id} ${action}`)) seen.set(`${id} ${action}`, Number(at));
  });
  const ok = await Promise.race([
    subscribedNow.then(() => true),
    new Promise((r) =>
      setTimeout(() => {
        r(false);
      }, timeoutMs),
    ),
  ]);
  if (!ok) {
    child.kill('SIGKILL');
    throw new Error('the bare subscriber did not subscribe');
  }
  return { seen, stop: () => child.kill('SIGKILL') };
}

async function burstRun(ctx: BenchContext, masterDelayMs: number): Promise<BurstRun> {
  const { docker } = ctx;
  const made: (BenchContainer & { managed: boolean })[] = [];
  const rec = await EventRecorder.start(docker);
  const load = await LoadWorker.start();
  const bare = await bareSubscriber(ctx.deadline.bound(10_000));
  try {
    return await withAgent(ctx, `burst-${masterDelayMs}ms`, {}, async (s) => {
      if (masterDelayMs > 0) s.master.addFault({ fault: { kind: 'slow', delayMs: masterDelayMs }, endpoint: 'events' });
      if (!(await subscribed(s, ctx.deadline.bound(20_000))))
        throw new Error('the agent did not subscribe to Docker events within 20 s');
      const plan = [
        ...Array.from({ length: COUNTS.labelled }, () => ({ labels: LABELLED, managed: true })),
        ...Array.from({ length: COUNTS.legacy }, () => ({ labels: LEGACY, managed: true })),
        ...Array.from({ length: COUNTS.disabled }, () => ({ labels: DISABLED, managed: false })),
      ];
      // Created before the burst: create work must not blur its timing.
      for (const p of plan)
        made.push({ ...(await createContainer(docker, p.labels, 'dfa-bench-burst')), managed: p.managed });
      const managed = made.filter((c) => c.managed);
      const accepted = (type: 'container_start' | 'container_stop'): number => {
        const got = acceptedByContainer(s.master, type);
        return managed.filter((c) => got.has(c.id)).length;
      };
      const ids = made.map((c) => c.id);
      await load.run('start', ids);
      await waitUntil(() => accepted('container_start') === managed.length, ctx.deadline.bound(30_000), 20);
      await load.run('stop', ids);
      await waitUntil(() => accepted('container_stop') === managed.length, ctx.deadline.bound(30_000), 20);
      // A late duplicate (a retry after an accepted event) would arrive in this pause.
      await new Promise((r) => setTimeout(r, ctx.deadline.bound(1500)));
      say(
        `burst against a ${masterDelayMs} ms master: ${accepted('container_start')}/${managed.length} starts, ${accepted('container_stop')}/${managed.length} stops`,
      );

      const agentLat: number[] = [];
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
        const got = acceptedByContainer(s.master, type);
        for (const c of managed) {
          const list: RecordedRequest[] = got.get(c.id) ?? [];
          if (list.length > 0) delivered++;
          duplicates += Math.max(0, list.length - 1);
          const ev = rec.first((e) => e.id === c.id && e.action === action);
          const bareAt = bare.seen.get(`${c.id} ${action}`);
          if (!ev || bareAt === undefined) {
            unseen++;
            continue;
          }
          firstEvent = Math.min(firstEvent, ev.ms);
          bareLat.push(bareAt - ev.ms);
          if (list[0]) {
            agentLat.push(list[0].at - ev.ms);
            lastReceipt = Math.max(lastReceipt, list[0].at);
          }
        }
      }
      const disabledIds = new Set(made.filter((c) => !c.managed).map((c) => c.id));
      const unexpected = [
        ...acceptedByContainer(s.master, 'container_start'),
        ...acceptedByContainer(s.master, 'container_stop'),
      ]
        .filter(([id]) => disabledIds.has(id))
        .reduce((n, [, list]) => n + list.length, 0);
      const expected = managed.length * 2;
      return {
        masterDelayMs,
        labelled: managed.length,
        delivery: { expected, delivered, lost: expected - delivered, duplicates },
        unexpectedReports: unexpected,
        agent: latencyStats(agentLat),
        bare: latencyStats(bareLat),
        unseen,
        spanMs: Number.isFinite(firstEvent) && Number.isFinite(lastReceipt) ? round(lastReceipt - firstEvent) : null,
      };
    });
  } finally {
    bare.stop();
    load.close();
    rec.close();
    await Promise.all(made.map((c) => removeForce(docker, c.id).catch(() => undefined)));
  }
}

export async function burstScenario(ctx: BenchContext): Promise<BurstResult> {
  const fast = await burstRun(ctx, 0);
  ctx.deadline.check('the burst against a slow master');
  const slow = await burstRun(ctx, SLOW_MASTER_MS);
  return {
    settings: `agent defaults; ${COUNTS.labelled} dockflare.enable=true + ${COUNTS.legacy} cloudflare.tunnel.enable=true + ${COUNTS.disabled} dockflare.enable=false containers started in parallel, then stopped in parallel, from a load-generator process; control: a bare subscriber process (bench/bare-subscriber.mjs) with the agent's node flags`,
    fast,
    slow,
  };
}
