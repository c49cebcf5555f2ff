import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { metricsText } from '../../../agent/health-report.js';
import { StatusBoard } from '../../../domain/status-board.js';
import type { ActorHealth, HealthSnapshot } from '../../../supervisor/health.js';

const actor = (status: ActorHealth['status']): ActorHealth => ({
  status,
  gen: 1,
  uptimeMs: 1000,
  restartsTotal: 2,
  restartsInWindow: 1,
  backoffMs: null,
  maxBackoffMs: null,
  restartInMs: null,
  lastCrash: null,
  crashLoop: null,
  processed: 10,
  dropped: 0,
  stashed: 0,
});

function metrics(): string {
  const snapshot: HealthSnapshot = {
    at: '2026-12-07T09:00:00.000Z',
    uptimeMs: 60_000,
    actors: { reporter: actor('running'), 'event-watcher': actor('backing_off') },
  };
  return metricsText({
    snapshot,
    facts: new StatusBoard('https://master.example').read(),
    masterLastSuccessAt: Date.parse('2026-12-07T08:59:30.000Z'),
    lifecycle: 'enrolled',
    masterContactAgeMs: 30_000,
    master: { requests: 10, failures: 1, lastLatencyMs: 3, latencySumMs: 40 },
  });
}

describe('agent/health-report: /metrics and the Grafana dashboard that reads it', () => {
  it('declares every series it writes, counters with _total', () => {
    const text = metrics();
    const typed = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const written = new Set([...text.matchAll(/^([a-z_]+)[{ ]/gm)].map((m) => m[1]!));
    for (const name of written) expect(typed.has(name), `${name} has a TYPE`).to.equal(true);
    for (const [name, type] of typed) if (type === 'counter') expect(name, 'counter name').to.match(/_total$/);
  });

  it('ships a dashboard whose every query reads metrics the agent exposes', () => {
    const dashboard = JSON.parse(readFileSync('docs/grafana/dockflare-agent.json', 'utf8')) as {
      uid: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.uid).to.equal('dockflare-agent');
    expect(dashboard.panels.length).to.be.greaterThan(5);
    const exposed = new Set([...metrics().matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const used = new Set<string>();
    for (const panel of dashboard.panels)
      for (const target of panel.targets)
        for (const m of target.expr.matchAll(/dockflare_agent_[a-z_]+/g)) used.add(m[0]);
    expect(
      [...used].filter((name) => !exposed.has(name)),
      'queried but not exposed',
    ).to.deep.equal([]);
    expect(used.size, 'metrics the dashboard shows').to.be.at.least(8);
  });
});
