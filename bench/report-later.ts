/** The verdict rows of the tunnel, daemon-restart and master-outage scenarios (4 to 7). */
import { errNote, failed, ms, row, type Results, type Row } from './verdict.js';

export function laterRows(r: Results): Row[] {
  const rows: Row[] = [];
  const t = r.tunnel;
  if (failed(t)) {
    for (const [n, f, tg, py] of [
      [4, 'command fetched → tunnel running', '≤ 350 ms', '500 ms'],
      [5, 'tunnel kill / rm -f → running', '≤ 2 s', 'never / 27.5 s'],
      [8, 'SIGTERM → exit, tunnel removed', '≤ 8 s, removed', 'tunnel left running'],
    ] as const)
      rows.push(row(n, f, undefined, false, tg, py, errNote(t)));
  } else {
    const c = t.command;
    rows.push(
      row(
        4,
        'command fetched → tunnel running',
        c.fetchedToRunningMs === null ? undefined : ms(c.fetchedToRunningMs),
        c.fetchedToRunningMs !== null && c.fetchedToRunningMs <= 350,
        '≤ 350 ms',
        '500 ms',
        `control, the bench's own create + start of the same image: ${ms(c.bareCreateStartMs)}; inspect poll: ${ms(c.fetchedToRunningByInspectMs)}; ${c.settings}`,
      ),
    );
    for (const [name, res, py] of [
      ['docker kill', t.kill, 'never'],
      ['docker rm -f', t.rm, '27.5 s'],
    ] as const) {
      const by = [...new Set(res.runs.map((x) => x.by))].join(', ');
      rows.push(
        row(
          5,
          `tunnel ${name} → running (median / max of ${res.runs.length})`,
          res.maxMs === null
            ? res.recovered < res.runs.length
              ? `${res.runs.length - res.recovered}/${res.runs.length} never ran again within 20 s`
              : undefined
            : `${ms(res.medianMs)} / ${ms(res.maxMs)}`,
          res.maxMs !== null && res.maxMs <= 2000,
          '≤ 2 s',
          py,
          `brought back by: ${by}`,
        ),
      );
    }
    const g = t.sigterm;
    rows.push(
      row(
        8,
        'SIGTERM → process exit; tunnel removed',
        g.exitMs === null
          ? 'no exit within 15 s'
          : `${ms(g.exitMs)} (exit ${String(g.exitCode)}), tunnel ${g.tunnelRemoved ? 'removed' : 'LEFT'}`,
        g.exitMs !== null && g.exitMs <= 8000 && g.tunnelRemoved === true && g.tunnelWasRunning,
        '≤ 8 s, tunnel removed',
        'tunnel left running',
        g.tunnelWasRunning ? undefined : 'the tunnel was not running before SIGTERM',
      ),
    );
  }
  const d = r.daemon;
  if (d && !failed(d) && d.skipped)
    rows.push({
      scenario: 6,
      figure: 'daemon back (/_ping) → next container_start delivered',
      measured: 'skipped',
      target: '≤ 3 s',
      python: 'never',
      verdict: 'SKIPPED',
      note: d.reason,
    });
  else if (failed(d) || d.skipped)
    rows.push(
      row(
        6,
        'daemon back (/_ping) → next container_start delivered',
        undefined,
        false,
        '≤ 3 s',
        'never',
        errNote(failed(d) ? d : undefined),
      ),
    );
  else
    rows.push(
      row(
        6,
        'daemon back (/_ping) → next container_start delivered',
        d.pingToDeliveredMs === null ? 'not delivered within 30 s' : ms(d.pingToDeliveredMs),
        d.pingToDeliveredMs !== null && d.pingToDeliveredMs <= 3000,
        '≤ 3 s',
        'never',
        `container started ${ms(d.pingToContainerStartMs)} after the ping; start → delivered ${ms(d.containerStartToDeliveredMs)}; daemon down ${ms(d.downMs)}`,
      ),
    );
  const o = r.outage;
  if (failed(o))
    rows.push(
      row(
        7,
        'master outage 20 s → delivered within 5 s of recovery',
        undefined,
        false,
        '10/10 within 5 s',
        '0/10',
        errNote(o),
      ),
    );
  else
    rows.push(
      row(
        7,
        'master outage 20 s → delivered within 5 s of recovery',
        `${o.deliveredWithin5s}/${o.started} (all ${o.deliveredTotal}/${o.started}; last ${ms(o.recoveryToLastDeliveredMs)} after recovery)`,
        o.deliveredWithin5s === o.started && o.duplicates === 0,
        '10/10 within 5 s',
        '0/10',
        `duplicates ${o.duplicates}`,
      ),
    );
  return rows;
}
