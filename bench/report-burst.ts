/**
 * A burst's verdict rows (scenario 3's 52, and scenario 9's 200 on a host of 500): judged net of the engine by the
 * bare subscriber of the same run, beside the protocol floor of the same run.
 */
import type { BurstPairResult, BurstRun, LatencyStats } from './scenario-burst.js';
import { info, ms, row, type Row } from './verdict.js';

export const BURST_TARGET = '0 lost, 0 dup; p95 ≤ bare + 5 ms, max ≤ bare + 20 ms';
const P95_MARGIN_MS = 5;
const MAX_MARGIN_MS = 20;

/** How far `x` is above its pass's bare subscriber `bare`, p95 / max. */
function over(x: LatencyStats, bare: LatencyStats): string {
  if (x.p95Ms === null || x.maxMs === null || bare.p95Ms === null || bare.maxMs === null) return 'n/a';
  return `+${ms(x.p95Ms - bare.p95Ms)} / +${ms(x.maxMs - bare.maxMs)}`;
}

/** `where`: how the rows name the host, e.g. "on a host of 500" (nothing for scenario 3). */
function runRows(scenario: number, r: BurstRun, where: string): Row[] {
  const master = `${r.masterDelayMs === 0 ? 'fast master' : `master answering in ${r.masterDelayMs} ms`}${where}`;
  const a = r.agent;
  const b = r.bare;
  const f = r.floor;
  const fb = r.floorBare;
  const lat = (x: typeof a): string => `${ms(x.p50Ms)} / ${ms(x.p95Ms)} / ${ms(x.maxMs)}`;
  const note = `n=${a.count} (of ${r.delivery.expected}); events unseen by a subscriber: ${r.unseen}; first Docker event → last accepted: ${ms(r.spanMs)}${r.timedOut ? '; the wait for the master ran out (deadline or undelivered events)' : ''}`;
  // A floor that lost events or ran out of time would look faster than it is: then it is not shown.
  const floorWhole = r.floorDelivery.lost === 0 && !r.floorTimedOut;
  return [
    row(
      scenario,
      `burst of ${r.labelled} (${master}): lost / delivered twice / disabled reported`,
      `${r.delivery.lost} / ${r.delivery.duplicates} / ${r.unexpectedReports}`,
      r.delivery.lost === 0 && r.delivery.duplicates === 0 && r.unexpectedReports === 0,
      '0 / 0 / 0',
      '—',
    ),
    row(
      scenario,
      `burst (${master}): p95 agent vs bare subscriber`,
      a.p95Ms === null || b.p95Ms === null ? undefined : `${ms(a.p95Ms)} vs ${ms(b.p95Ms)}`,
      a.p95Ms !== null && b.p95Ms !== null && a.p95Ms <= b.p95Ms + P95_MARGIN_MS,
      `≤ bare + ${P95_MARGIN_MS} ms`,
      '66 ms (absolute)',
      `agent p50/p95/max ${lat(a)}; bare subscriber ${lat(b)}; ${note}`,
    ),
    row(
      scenario,
      `burst (${master}): max agent vs bare subscriber`,
      a.maxMs === null || b.maxMs === null ? undefined : `${ms(a.maxMs)} vs ${ms(b.maxMs)}`,
      a.maxMs !== null && b.maxMs !== null && a.maxMs <= b.maxMs + MAX_MARGIN_MS,
      `≤ bare + ${MAX_MARGIN_MS} ms`,
      '108 ms (absolute)',
    ),
    info(
      scenario,
      `burst (${master}): protocol floor (a serial poster, bench/bare-poster.mjs) p95 / max vs its bare subscriber`,
      !floorWhole || f.p95Ms === null || f.maxMs === null || fb.p95Ms === null || fb.maxMs === null
        ? `n/a (${floorWhole ? 'not measured' : `incomplete: ${r.floorDelivery.lost} of ${r.floorDelivery.expected} lost`})`
        : `${ms(f.p95Ms)} / ${ms(f.maxMs)} vs ${ms(fb.p95Ms)} / ${ms(fb.maxMs)}: the floor alone ${
            f.p95Ms <= fb.p95Ms + P95_MARGIN_MS && f.maxMs <= fb.maxMs + MAX_MARGIN_MS ? 'meets' : 'misses'
          } the target`,
      `a pass of its own with the same containers: each event posted one at a time, as v2 allows, by a bare node to its own test master; unlike the agent it sends no status reports (n=${f.count}; p50/p95/max ${lat(f)}; its bare subscriber ${lat(fb)})`,
    ),
    info(
      scenario,
      `burst (${master}): over each pass's bare subscriber, p95 / max: agent vs protocol floor`,
      `${over(a, b)} vs ${floorWhole ? over(f, fb) : 'n/a'}`,
      `the target allows +${P95_MARGIN_MS} ms / +${MAX_MARGIN_MS} ms`,
    ),
  ];
}

export function burstRows(e: BurstPairResult, scenario = 3, where = ''): Row[] {
  return [...runRows(scenario, e.fast, where), ...runRows(scenario, e.slow, where)];
}
