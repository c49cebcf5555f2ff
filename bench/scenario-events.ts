/**
 * Scenario 3: event latency and loss. Labelled containers are started and stopped in parallel batches; Docker's
 * own event time (timeNano, from our subscription) is compared with the master's receipt of the accepted event.
 * Containers with `dockflare.enable=false` ride along in every batch: they must never be reported.
 */
import type { RecordedRequest } from '../spec/master/index.js';
import { createContainer, EventRecorder, removeForce, type BenchContainer } from './docker.js';
import { LoadWorker } from './load-worker.js';
import { mainThreadSched, schedDelta } from './proc.js';
import { acceptedByContainer, subscribed, withAgent, type BenchContext } from './session.js';
import { max, percentile, round, say, waitUntil } from './util.js';

type Kind = 'enabled' | 'disabled' | 'legacy';
interface Planned extends BenchContainer {
  kind: Kind;
}

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
  latency: LatencyStats;
}

export interface EventsResult {
  settings: string;
  batches: number;
  containers: Record<Kind, number>;
  starts: DeliveryStats;
  stops: DeliveryStats;
  all: DeliveryStats;
  /** Accepted events about `dockflare.enable=false` containers: must be 0. */
  unexpectedReports: number;
  /** Containers whose Docker event our own subscription never saw (then no latency can be computed for them). */
  dockerEventsMissing: number;
  /**
   * Control: Docker's event time → arrival of the same event line in the benchmark's own subscription. What the
   * engine and the machine's scheduling add before any agent code runs; the agent's figures include it too.
   */
  dockerToSubscriberLatency: LatencyStats;
  /**
   * The agent's own share: the benchmark's subscription receiving an event → the master receiving it from the
   * agent. Both processes read the same stream on the same machine, so this leaves out what the engine adds.
   */
  subscriberToMasterLatency: LatencyStats;
  /**
   * Over the batches: how long the main thread (where the JavaScript runs) of the agent and of the benchmark's own
   * process (the test master, the control subscription) ran, and how long each was runnable but waiting for a CPU
   * while the engine started and stopped containers. Wait well above run means the tail is CPU contention.
   */
  cpuDuringBatches: {
    agentMainThread: { runMs: number; waitMs: number } | null;
    masterMainThread: { runMs: number; waitMs: number } | null;
  };
  /** Per batch, latencies (ms) in the order the master received them: shows whether they queue behind each other. */
  latencyByBatchInDeliveryOrder: { starts: number[][]; stops: number[][] };
}

const LABELS: Record<Kind, Record<string, string>> = {
  enabled: { 'dockflare.enable': 'true', 'dockflare.hostname': 'bench.example.com' },
  disabled: { 'dockflare.enable': 'false', 'dockflare.hostname': 'never.example.com' },
  legacy: { 'cloudflare.tunnel.enable': 'true', 'cloudflare.tunnel.hostname': 'legacy.example.com' },
};

function latencyStats(xs: number[]): LatencyStats {
  return {
    count: xs.length,
    p50Ms: round(percentile(xs, 50)),
    p95Ms: round(percentile(xs, 95)),
    maxMs: round(max(xs)),
  };
}

/** `extraEnv` is for diagnosing a miss (e.g. LOG_LEVEL=debug); the benchmark itself runs the defaults. */
export async function eventsScenario(
  ctx: BenchContext,
  batches = 5,
  extraEnv: Record<string, string> = {},
): Promise<EventsResult> {
  const { docker } = ctx;
  const plan: Planned[][] = [];
  const rec = await EventRecorder.start(docker);
  const load = await LoadWorker.start();
  try {
    return await withAgent(ctx, 'events', extraEnv, async (s) => {
      if (!(await subscribed(s, ctx.deadline.bound(20_000))))
        throw new Error('the agent did not subscribe to Docker events within 20 s');
      // Created before any batch starts: a container's create/start work then does not blur the batch timing.
      for (let b = 0; b < batches; b++) {
        const kinds: Kind[] = [...Array<Kind>(10).fill('enabled'), 'disabled', 'disabled', 'legacy'];
        plan.push(
          await Promise.all(
            kinds.map(async (kind) => ({
              ...(await createContainer(docker, LABELS[kind], `dfa-bench-ev-${kind}`)),
              kind,
            })),
          ),
        );
      }
      const all = plan.flat();
      const managed = all.filter((c) => c.kind !== 'disabled');
      const count = (type: 'container_start' | 'container_stop', cs: Planned[]): number => {
        const got = acceptedByContainer(s.master, type);
        return cs.filter((c) => got.has(c.id)).length;
      };
      const schedBefore = { agent: mainThreadSched(s.agent.pid), master: mainThreadSched(process.pid) };
      for (const [b, batch] of plan.entries()) {
        ctx.deadline.check(`event batch ${b + 1}`);
        const expected = batch.filter((c) => c.kind !== 'disabled');
        await load.run(
          'start',
          batch.map((c) => c.id),
        );
        await waitUntil(() => count('container_start', expected) === expected.length, ctx.deadline.bound(10_000), 20);
        await load.run(
          'stop',
          batch.map((c) => c.id),
        );
        await waitUntil(() => count('container_stop', expected) === expected.length, ctx.deadline.bound(10_000), 20);
        say(
          `events batch ${b + 1}/${batches}: ${count('container_start', expected)}/${expected.length} starts, ${count('container_stop', expected)}/${expected.length} stops accepted`,
        );
      }
      const cpuDuringBatches = {
        agentMainThread: schedDelta(schedBefore.agent, mainThreadSched(s.agent.pid)),
        masterMainThread: schedDelta(schedBefore.master, mainThreadSched(process.pid)),
      };
      // A late duplicate (a retry after an accepted event) would arrive after this pause; it must not be missed.
      await new Promise((r) => setTimeout(r, ctx.deadline.bound(2000)));

      let dockerEventsMissing = 0;
      const stats = (
        type: 'container_start' | 'container_stop',
        action: 'start' | 'die',
      ): { d: DeliveryStats; lat: number[]; share: number[] } => {
        const got = acceptedByContainer(s.master, type);
        const lat: number[] = [];
        const share: number[] = [];
        let delivered = 0;
        let duplicates = 0;
        for (const c of managed) {
          const list: RecordedRequest[] = got.get(c.id) ?? [];
          if (list.length > 0) delivered++;
          duplicates += Math.max(0, list.length - 1);
          const ev = rec.first((e) => e.id === c.id && e.action === action);
          if (!ev) dockerEventsMissing++;
          else if (list[0]) {
            lat.push(list[0].at - ev.ms);
            share.push(list[0].at - ev.receivedAt);
          }
        }
        return {
          d: {
            expected: managed.length,
            delivered,
            lost: managed.length - delivered,
            duplicates,
            latency: latencyStats(lat),
          },
          lat,
          share,
        };
      };
      const starts = stats('container_start', 'start');
      const stops = stats('container_stop', 'die');
      const staircase = (type: 'container_start' | 'container_stop', action: 'start' | 'die'): number[][] => {
        const got = acceptedByContainer(s.master, type);
        return plan.map((batch) =>
          batch
            .flatMap((c) => {
              const first = got.get(c.id)?.[0];
              const ev = rec.first((e) => e.id === c.id && e.action === action);
              return first && ev ? [{ at: first.at, ms: first.at - ev.ms }] : [];
            })
            .sort((a, b) => a.at - b.at)
            .map((x) => round(x.ms) ?? 0),
        );
      };
      const disabledIds = new Set(all.filter((c) => c.kind === 'disabled').map((c) => c.id));
      const unexpected = [
        ...acceptedByContainer(s.master, 'container_start'),
        ...acceptedByContainer(s.master, 'container_stop'),
      ]
        .filter(([id]) => disabledIds.has(id))
        .reduce((n, [, list]) => n + list.length, 0);
      return {
        settings:
          'agent defaults; batches of 10 dockflare.enable=true + 2 dockflare.enable=false + 1 cloudflare.tunnel.enable=true, started in parallel, then stopped in parallel, from a load-generator process (bench/load-worker.ts)',
        batches,
        containers: {
          enabled: all.filter((c) => c.kind === 'enabled').length,
          disabled: disabledIds.size,
          legacy: all.filter((c) => c.kind === 'legacy').length,
        },
        starts: starts.d,
        stops: stops.d,
        all: {
          expected: starts.d.expected + stops.d.expected,
          delivered: starts.d.delivered + stops.d.delivered,
          lost: starts.d.lost + stops.d.lost,
          duplicates: starts.d.duplicates + stops.d.duplicates,
          latency: latencyStats([...starts.lat, ...stops.lat]),
        },
        unexpectedReports: unexpected,
        dockerEventsMissing,
        dockerToSubscriberLatency: latencyStats(
          managed.flatMap((c) =>
            rec.events
              .filter((e) => e.id === c.id && (e.action === 'start' || e.action === 'die'))
              .map((e) => e.receivedAt - e.ms),
          ),
        ),
        subscriberToMasterLatency: latencyStats([...starts.share, ...stops.share]),
        cpuDuringBatches,
        latencyByBatchInDeliveryOrder: {
          starts: staircase('container_start', 'start'),
          stops: staircase('container_stop', 'die'),
        },
      };
    });
  } finally {
    load.close();
    rec.close();
    await Promise.all(plan.flat().map((c) => removeForce(docker, c.id).catch(() => undefined)));
  }
}
