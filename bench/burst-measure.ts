/** A burst pass's figures from the records: the subject's delivery and latency, the bare subscriber's latency. */
import type { RecordedRequest, TestMaster } from '../spec/master/index.js';
import type { BenchContainer, EventRecorder } from './docker.js';
import { acceptedByContainer } from './session.js';
import { max, percentile, round } from './util.js';

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

/** A container of the burst; `managed`: labelled so that the agent must report it. */
export type Made = BenchContainer & { managed: boolean };

/** One pass's figures (the subject is the agent or the protocol floor). */
export interface PassFigures {
  delivery: DeliveryStats;
  /** Accepted events about `dockflare.enable=false` containers: must be 0. */
  unexpectedReports: number;
  /** Docker's event time → the master's receipt of the subject's accepted event (starts and stops). */
  agent: LatencyStats;
  /** Docker's event time → the bare subscriber's receipt of the same event. */
  bare: LatencyStats;
  /** Events the bare subscriber or the bench's own subscription did not see (no latency for them). */
  unseen: number;
  /** The five slowest of the subject's events: when Docker told them (from the burst's first event) and how long. */
  slowest: { action: string; atMs: number; bareMs: number; subjectMs: number }[];
  /** Wall time from the first Docker event of the burst to the last event the master accepted. */
  spanMs: number | null;
}

export function latencyStats(xs: number[]): LatencyStats {
  return {
    count: xs.length,
    p50Ms: round(percentile(xs, 50)),
    p95Ms: round(percentile(xs, 95)),
    maxMs: round(max(xs)),
  };
}

/** Latency, delivery and stray reports of one pass, from its master's records and the bare subscriber's receipts. */
export function measure(
  made: Made[],
  master: TestMaster,
  rec: EventRecorder,
  bareSeen: Map<string, number>,
): PassFigures {
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
