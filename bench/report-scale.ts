/** Scenario 9's verdict rows: the agent at 500 labelled containers against itself at 0, from the same run. */
import { BURST_TARGET, burstRows } from './report-burst.js';
import type { ScaleResult } from './scenario-scale.js';
import { errNote, failed, info, ms, row, type Outcome, type Row } from './verdict.js';

export function scaleRows(r: Outcome<ScaleResult> | undefined): Row[] {
  if (failed(r)) return [row(9, 'a quiet host at 500 containers', undefined, false, 'see #17', '—', errNote(r))];
  const at = (n: number) => r.points.find((p) => p.labelled === n);
  const zero = at(0);
  const big = at(500);
  const rows: Row[] = r.points.map((p) =>
    info(
      9,
      `${p.labelled} labelled + ${p.unlabelled} unlabelled: first inventory / RSS / idle CPU / CPU per report cycle`,
      `${ms(p.firstInventoryMs)} / ${String(p.rssMedianMb)} MB / ${String(p.cpuPercent)} % (bare node ${String(p.bareCpuPercent)} %) / ${ms(p.cpuPerReportCycleMs)}`,
      `${p.reportsInWindow} status reports in the window, each complete and exact: ${String(p.reportsCorrect)}`,
    ),
  );
  const cpuRatio =
    zero?.cpuPercent && big?.cpuPercent !== null && big?.cpuPercent !== undefined
      ? big.cpuPercent / zero.cpuPercent
      : null;
  rows.push(
    row(
      9,
      'idle CPU at 500 / at 0',
      cpuRatio === null
        ? undefined
        : `${cpuRatio.toFixed(2)}× (${String(big?.cpuPercent)} % / ${String(zero?.cpuPercent)} %)`,
      cpuRatio !== null && cpuRatio <= 1.5,
      '≤ 1.5×',
      '105× (0.10 → 10.5 %)',
      r.settings,
    ),
  );
  const rssDelta =
    zero?.rssMedianMb !== null &&
    zero?.rssMedianMb !== undefined &&
    big?.rssMedianMb !== null &&
    big?.rssMedianMb !== undefined
      ? big.rssMedianMb - zero.rssMedianMb
      : null;
  rows.push(
    row(
      9,
      'RSS at 500 − at 0',
      rssDelta === null ? undefined : `${rssDelta.toFixed(1)} MB`,
      rssDelta !== null && rssDelta <= 4,
      '≤ +4 MB',
      '+23.5 MB',
    ),
  );
  rows.push(
    row(
      9,
      'first complete inventory at 500 (spawn → master)',
      big?.firstInventoryMs === null || big?.firstInventoryMs === undefined ? undefined : ms(big.firstInventoryMs),
      big?.firstInventoryMs !== null && big?.firstInventoryMs !== undefined && big.firstInventoryMs <= 500,
      '≤ 500 ms',
      '2.37 s',
    ),
  );
  rows.push(
    row(
      9,
      'status reports complete and exact at every size',
      r.points.map((p) => `${p.labelled}: ${String(p.reportsCorrect)}`).join(', '),
      r.points.every((p) => p.reportsCorrect),
      'all',
      '—',
      `chart: ${r.chart}`,
    ),
  );
  const last = r.points.at(-1)?.labelled ?? 0;
  if ('error' in r.burst)
    rows.push(row(9, `a burst of 200 on a host of ${last}`, undefined, false, BURST_TARGET, '—', errNote(r.burst)));
  else rows.push(...burstRows(r.burst, 9, `, on a host of ${last}`));
  return rows;
}
