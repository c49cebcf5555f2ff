/** Scenario 3's verdict rows: a burst of 52, judged net of the engine by the bare subscriber of the same run. */
import type { BurstResult, BurstRun } from './scenario-burst.js';
import { ms, row, type Row } from './verdict.js';

export const BURST_TARGET = '0 lost, 0 dup; p95 ≤ bare + 5 ms, max ≤ bare + 20 ms';
const P95_MARGIN_MS = 5;
const MAX_MARGIN_MS = 20;

function runRows(r: BurstRun): Row[] {
  const master = r.masterDelayMs === 0 ? 'fast master' : `master answering in ${r.masterDelayMs} ms`;
  const a = r.agent;
  const b = r.bare;
  const lat = (x: typeof a): string => `${ms(x.p50Ms)} / ${ms(x.p95Ms)} / ${ms(x.maxMs)}`;
  const note = `n=${a.count} (of ${r.delivery.expected}); events unseen by a subscriber: ${r.unseen}; first Docker event → last accepted: ${ms(r.spanMs)}`;
  return [
    row(
      3,
      `burst of ${r.labelled} (${master}): lost / delivered twice / disabled reported`,
      `${r.delivery.lost} / ${r.delivery.duplicates} / ${r.unexpectedReports}`,
      r.delivery.lost === 0 && r.delivery.duplicates === 0 && r.unexpectedReports === 0,
      '0 / 0 / 0',
      '—',
    ),
    row(
      3,
      `burst (${master}): p95 agent vs bare subscriber`,
      a.p95Ms === null || b.p95Ms === null ? undefined : `${ms(a.p95Ms)} vs ${ms(b.p95Ms)}`,
      a.p95Ms !== null && b.p95Ms !== null && a.p95Ms <= b.p95Ms + P95_MARGIN_MS,
      `≤ bare + ${P95_MARGIN_MS} ms`,
      '66 ms (absolute)',
      `agent p50/p95/max ${lat(a)}; bare subscriber ${lat(b)}; ${note}`,
    ),
    row(
      3,
      `burst (${master}): max agent vs bare subscriber`,
      a.maxMs === null || b.maxMs === null ? undefined : `${ms(a.maxMs)} vs ${ms(b.maxMs)}`,
      a.maxMs !== null && b.maxMs !== null && a.maxMs <= b.maxMs + MAX_MARGIN_MS,
      `≤ bare + ${MAX_MARGIN_MS} ms`,
      '108 ms (absolute)',
    ),
  ];
}

export function burstRows(e: BurstResult): Row[] {
  return [...runRows(e.fast), ...runRows(e.slow)];
}
