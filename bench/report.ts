/**
 * Targets and verdicts. Each target compares one measured figure with the threshold; a figure that could
 * not be measured is a MISS (or SKIPPED when the environment rules the scenario out), never a PASS.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type Docker from 'dockerode';
import { BURST_TARGET, burstRows } from './report-burst.js';
import { laterRows } from './report-later.js';
import { scaleRows } from './report-scale.js';
import { errNote, failed, info, ms, row, type Results, type Row } from './verdict.js';

export function evaluate(r: Results): Row[] {
  const rows: Row[] = [];
  const s = r.startup;
  if (failed(s))
    rows.push(row(1, 'spawn → first heartbeat (median of 5)', undefined, false, '≤ 250 ms', '218 ms', errNote(s)));
  else {
    const hb = s.heartbeatMedianMs;
    rows.push(info(1, 'spawn → first register (median of 5)', ms(s.registerMedianMs)));
    rows.push(
      row(
        1,
        'spawn → first heartbeat (median of 5)',
        hb === null ? `none within 40 s in ${s.heartbeatsMissing} run(s)` : ms(hb),
        hb !== null && hb <= 250,
        '≤ 250 ms',
        '218 ms',
        s.settings,
      ),
    );
  }
  const i = r.idle;
  if (failed(i)) rows.push(row(2, 'idle RSS / bare node', undefined, false, '≤ 1.20×', '—', errNote(i)));
  else {
    rows.push(
      row(
        2,
        'idle RSS agent tree (median / max) vs bare node (median)',
        i.rssRatio === null
          ? undefined
          : `${String(i.agentRssMedianMb)} / ${String(i.agentRssMaxMb)} MB vs ${String(i.bareRssMedianMb)} MB = ${i.rssRatio}× (protocol floor ${floorRss(i)})`,
        i.rssRatio !== null && i.rssRatio <= 1.2,
        '≤ 1.20× bare node',
        '—',
        i.settings,
      ),
    );
    const windows = i.agentCpuWindows.map((x) => (x === null ? 'cut short' : `${x} %`)).join(', ');
    rows.push(
      row(
        2,
        'idle CPU (% of one core, median of the 60 s windows)',
        i.agentCpuPercent === null
          ? undefined
          : `${i.agentCpuPercent} % (windows ${windows}; bare node ${String(i.bareCpuPercent)} %; protocol floor ${String(i.protocolFloorCpuPercent)} %)`,
        i.agentCpuPercent !== null && i.agentCpuPercent <= 0.07,
        '≤ 0.07 %',
        '0.10 %',
        `${i.settings}; from the threads' run time in ns (the whole span in 10 ms ticks: ${String(i.agentCpuPercentTicks)} %); protocol floor: a bare node making only the same master requests with node-fetch (bench/bare-requester.mjs)`,
      ),
    );
    if (i.busyHost) {
      rows.push(
        info(
          2,
          `idle CPU with ${i.busyHost.healthcheckedContainers} other containers health-checked every 1 s`,
          i.busyHost.agentCpuPercent === null ? 'n/a' : `${i.busyHost.agentCpuPercent} %`,
          i.busyHost.settings,
        ),
      );
    }
    if (i.strict) {
      rows.push(
        info(
          2,
          'idle CPU with the command poll at 5 s too (stricter than the scenario)',
          i.strict.agentCpuPercent === null ? 'n/a' : `${i.strict.agentCpuPercent} %`,
          `${i.strict.settings}; ${String(i.strict.requestsPerMinute)} requests per minute`,
        ),
      );
    }
    rows.push(
      info(
        2,
        'CPU in the 30 s settling before the window (tunnel start, first reports)',
        i.settleCpuPercent === null ? 'n/a' : `${i.settleCpuPercent} %`,
        'not idle yet: reported, not judged',
      ),
    );
    rows.push(
      info(
        2,
        'master requests per minute (idle)',
        String(i.requestsPerMinute ?? 'n/a'),
        JSON.stringify(i.requestsByKind),
      ),
    );
  }
  const e = r.events;
  if (failed(e))
    rows.push(
      row(
        3,
        'burst of 52: loss, latency net of the engine',
        undefined,
        false,
        BURST_TARGET,
        '28/66/108 ms',
        errNote(e),
      ),
    );
  else rows.push(...burstRows(e));
  rows.push(...laterRows(r));
  rows.push(...scaleRows(r.scale));
  return rows.sort((a, b) => a.scenario - b.scenario);
}

/** The protocol floor's RSS and its ratio to the bare node: what loading node-fetch and making the requests costs. */
function floorRss(i: { protocolFloorRssMedianMb?: number | null; bareRssMedianMb: number | null }): string {
  const f = i.protocolFloorRssMedianMb ?? null;
  if (f === null || i.bareRssMedianMb === null || i.bareRssMedianMb <= 0) return 'n/a';
  return `${f} MB = ${(f / i.bareRssMedianMb).toFixed(2)}×`;
}

export function markdown(rows: Row[]): string {
  const esc = (x: string): string => x.replace(/\|/g, '\\|');
  const lines = ['| # | Figure | Measured | Target | Python agent | Verdict |', '|---|---|---|---|---|---|'];
  for (const r of rows)
    lines.push(
      `| ${r.scenario} | ${esc(r.figure)} | ${esc(r.measured)} | ${esc(r.target)} | ${esc(r.python)} | ${r.verdict} |`,
    );
  return lines.join('\n');
}

export async function machine(docker: Docker): Promise<Record<string, unknown>> {
  const cpu =
    /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  let nproc: number;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    nproc = os.availableParallelism();
  }
  const v = await docker.version().catch(() => null);
  return {
    date: new Date().toISOString(),
    nproc,
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    cpuModel: cpu,
    node: process.version,
    kernel: os.release(),
    dockerServer: v ? `${v.Version} (API ${v.ApiVersion})` : 'unknown',
    dockerHost: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
    privateDaemon: process.env.DOCKERTEST_DIR !== undefined && process.env.DOCKERTEST_DOCKERD_ARGS !== undefined,
  };
}
