/** The scale scenario's points as a small SVG line chart: idle CPU (%) and RSS (MB) against labelled containers. */
/** What the chart needs of a scale point (scenario-scale.ts). */
interface ChartPoint {
  labelled: number;
  cpuPercent: number | null;
  rssMedianMb: number | null;
}

const W = 480;
const H = 220;
const PAD = { left: 48, right: 48, top: 24, bottom: 36 };

function line(points: [number, number][], color: string): string {
  const d = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const dots = points.map(([x, y]) => `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${color}"/>`);
  return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>${dots.join('')}`;
}

export function scaleSvg(points: readonly ChartPoint[]): string {
  const xs = points.map((p) => p.labelled);
  const maxX = Math.max(1, ...xs);
  const cpu = points.map((p) => p.cpuPercent ?? 0);
  const rss = points.map((p) => p.rssMedianMb ?? 0);
  const maxCpu = Math.max(0.1, ...cpu) * 1.2;
  const maxRss = Math.max(10, ...rss) * 1.2;
  const x = (v: number): number => PAD.left + (v / maxX) * (W - PAD.left - PAD.right);
  const y = (v: number, max: number): number => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const labels = points
    .map(
      (p) =>
        `<text x="${x(p.labelled).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${p.labelled}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#888"/>
${labels}
<text x="${W / 2}" y="${H - 4}" text-anchor="middle">labelled running containers (plus half as many unlabelled)</text>
<text x="${PAD.left - 6}" y="${PAD.top - 8}" text-anchor="start" fill="#c0392b">idle CPU, % of one core (max ${maxCpu.toFixed(2)})</text>
<text x="${W - PAD.right + 6}" y="${PAD.top - 8}" text-anchor="end" fill="#2c6fbb">RSS, MB (max ${maxRss.toFixed(0)})</text>
${line(
  points.map((p, i) => [x(p.labelled), y(cpu[i] ?? 0, maxCpu)]),
  '#c0392b',
)}
${line(
  points.map((p, i) => [x(p.labelled), y(rss[i] ?? 0, maxRss)]),
  '#2c6fbb',
)}
</svg>
`;
}
