/** What a bench figure is judged as: the results' shape, a verdict row, and how a figure is shown. */
import type { BurstResult } from './scenario-burst.js';
import type { ScaleResult } from './scenario-scale.js';
import type { IdleResult, StartupResult } from './scenario-process.js';
import type { DaemonResult, OutageResult } from './scenario-resilience.js';
import type { TunnelResults } from './scenario-tunnel.js';

export type Failed = { error: string };
export type Outcome<T> = T | Failed;
export const failed = <T>(o: Outcome<T> | undefined): o is Failed | undefined =>
  o === undefined || (typeof o === 'object' && o !== null && 'error' in o);

export interface Results {
  startup?: Outcome<StartupResult>;
  idle?: Outcome<IdleResult>;
  events?: Outcome<BurstResult>;
  tunnel?: Outcome<TunnelResults>;
  daemon?: Outcome<DaemonResult>;
  outage?: Outcome<OutageResult>;
  scale?: Outcome<ScaleResult>;
}

/** INFO: a figure the issue sets no target for, printed for context. */
export type Verdict = 'PASS' | 'MISS' | 'SKIPPED' | 'INFO';
export interface Row {
  scenario: number;
  figure: string;
  measured: string;
  target: string;
  python: string;
  verdict: Verdict;
  note?: string;
}

/**
 * Whole milliseconds, but one decimal below 10 ms: a p50 of 5.4 ms shown as "5 ms" beside a MISS against ≤ 5 ms
 * misleads.
 */
export const ms = (x: number | null | undefined): string =>
  x === null || x === undefined ? 'n/a' : `${x < 10 ? Math.round(x * 10) / 10 : Math.round(x)} ms`;

export function info(scenario: number, figure: string, measured: string, note?: string): Row {
  return { scenario, figure, measured, target: '(no target)', python: '—', verdict: 'INFO', ...(note ? { note } : {}) };
}

/** One row: `value` undefined means "not measured" (scenario error or timeout) and is a MISS. */
export function row(
  scenario: number,
  figure: string,
  measured: string | undefined,
  ok: boolean | undefined,
  target: string,
  python: string,
  note?: string,
): Row {
  return {
    scenario,
    figure,
    measured: measured ?? 'not measured',
    target,
    python,
    verdict: measured === undefined || ok !== true ? 'MISS' : 'PASS',
    ...(note ? { note } : {}),
  };
}

export const errNote = (o: { error: string } | undefined): string =>
  o ? `error: ${o.error}` : 'not run (run deadline, or left out by BENCH_ONLY)';
