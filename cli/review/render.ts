/**
 * The review as a readable table, and as an HTML page with one SVG timeline per run for people who would rather look.
 */
import type { RunReview } from './analyze.js';
import { renderDocker } from './docker-facts.js';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const fmt = (v: number | null, unit = ''): string => (v === null ? '-' : `${v}${unit}`);

export function renderTable(runs: readonly RunReview[], skipped: number): string {
  const out: string[] = [];
  for (const r of runs) {
    out.push(
      `run ${r.run} (pid ${fmt(r.pid)}) ${r.from} → ${r.to}, ${Math.round(r.durationSeconds)} s: ${r.verdict.toUpperCase()}`,
    );
    for (const reason of r.reasons) out.push(`  - ${reason}`);
    out.push(
      '',
      `  ${pad('actor', 16)}${pad('crashes', 9)}${pad('chaos', 7)}${pad('real', 6)}${pad('restarts', 10)}${pad('mtbf', 9)}${pad('restart ms (mean/max)', 23)}${pad('backoff ms', 12)}dropped`,
    );
    for (const [name, a] of Object.entries(r.actors)) {
      out.push(
        `  ${pad(name, 16)}${pad(String(a.crashes), 9)}${pad(String(a.chaosKills), 7)}${pad(String(a.realCrashes), 6)}${pad(String(a.restarts), 10)}${pad(fmt(a.mtbfSeconds, ' s'), 9)}${pad(`${fmt(a.restartLatencyMs.mean)}/${fmt(a.restartLatencyMs.max)}`, 23)}${pad(String(a.backingOffMs), 12)}${a.droppedMessages}`,
      );
    }
    const causes = Object.entries(r.tunnelRestarts.causes)
      .map(([c, n]) => `${c}: ${n}`)
      .join(', ');
    out.push(
      '',
      `  escalations: ${r.escalations}   process crashes: ${r.processCrashes}   exit code: ${fmt(r.exitCode)}`,
      `  master outages: ${r.masterOutages.count} (${r.masterOutages.totalSeconds} s, longest ${r.masterOutages.longestSeconds} s)   largest contact gap seen: ${fmt(r.maxContactGapSeconds, ' s')}`,
      `  tunnel containers started: ${r.tunnelRestarts.count}${causes ? ` (${causes})` : ''}`,
      ...renderDocker(r.docker),
      '',
    );
  }
  const last = runs.at(-1);
  out.push(
    `host: ${last ? last.verdict.toUpperCase() : 'NO DATA'} (last run), ${runs.length} run(s), ${skipped} line(s) skipped`,
  );
  return `${out.join('\n')}\n`;
}

const esc = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

function timelineSvg(r: RunReview): string {
  const names = Object.keys(r.actors);
  const start = Date.parse(r.from);
  const span = Math.max(1, Date.parse(r.to) - start);
  const width = 900;
  const left = 120;
  const row = 22;
  const x = (t: number): number => left + ((t - start) / span) * (width - left - 10);
  const height = (names.length + 1) * row + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
  ];
  const y = (i: number): number => 10 + i * row;
  for (const o of r.timeline.outages) {
    parts.push(
      `<rect x="${x(o.from)}" y="0" width="${Math.max(1, x(o.to ?? Date.parse(r.to)) - x(o.from))}" height="${height}" fill="#fde2e2"><title>master outage</title></rect>`,
    );
  }
  names.forEach((name, i) => {
    parts.push(
      `<text x="4" y="${y(i) + 14}">${esc(name)}</text>`,
      `<line x1="${left}" x2="${width - 10}" y1="${y(i) + 10}" y2="${y(i) + 10}" stroke="#ccc"/>`,
    );
    for (const b of r.timeline.backoffs.filter((s) => s.actor === name)) {
      parts.push(
        `<rect x="${x(b.from)}" y="${y(i) + 4}" width="${Math.max(2, x(b.to ?? Date.parse(r.to)) - x(b.from))}" height="12" fill="#f5c542"><title>backing off</title></rect>`,
      );
    }
    for (const c of r.timeline.crashes.filter((s) => s.actor === name)) {
      parts.push(
        `<circle cx="${x(c.at)}" cy="${y(i) + 10}" r="5" fill="${c.chaos ? '#7b61ff' : '#d62728'}"><title>${c.chaos ? 'chaos kill' : 'crash'} ${new Date(c.at).toISOString()}</title></circle>`,
      );
    }
  });
  parts.push(
    `<text x="${left}" y="${height - 4}">${esc(r.from)}</text><text x="${width - 200}" y="${height - 4}">${esc(r.to)}</text></svg>`,
  );
  return parts.join('');
}

export function renderHtml(runs: readonly RunReview[], table: string): string {
  const sections = runs.map(
    (r) =>
      `<h2>Run ${r.run}: ${esc(r.verdict)}</h2><ul>${r.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>${timelineSvg(r)}`,
  );
  return `<!doctype html><html><head><meta charset="utf-8"><title>dockflare-agent review</title></head><body>
<h1>dockflare-agent review</h1>
<p>Red dot: crash; purple dot: chaos kill; yellow: backing off; pink band: master outage.</p>
${sections.join('\n')}
<pre>${esc(table)}</pre></body></html>
`;
}
