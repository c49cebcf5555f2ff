import { expect } from 'chai';
import { reviewRun } from '../../../cli/review/analyze.js';
import { parseLog } from '../../../cli/review/parse.js';
import { renderTable } from '../../../cli/review/render.js';

const T = Date.UTC(2026, 11, 7, 12, 0, 0);
const line = (dt: number, fields: Record<string, unknown>): string =>
  JSON.stringify({
    name: 'dockflare-agent',
    hostname: 'h',
    pid: 7,
    level: 30,
    msg: 'x',
    time: new Date(T + dt).toISOString(),
    v: 0,
    ...fields,
  });

const review = (lines: string[]) => reviewRun(parseLog(lines.join('\n')).runs[0]!);

describe('review: the Docker side and the decommission', () => {
  it('Swarm mode: the tunnel service created and repaired, services unreadable for a while, a service cloudflared cannot reach', () => {
    const r = review([
      line(0, { event: 'agent_starting' }),
      line(10, { event: 'docker_mode', mode: 'swarm' }),
      line(20, { event: 'tunnel_service_created' }),
      line(30, { event: 'tunnel_service_updated', drift: ['replicas'] }),
      line(40, { event: 'tunnel_service_updated', drift: ['image', 'replicas'] }),
      line(50, { event: 'swarm_scan_failed', level: 40 }),
      line(60, { event: 'swarm_scan_failed', level: 20 }),
      line(70, { event: 'swarm_scan_recovered' }),
      line(80, { event: 'service_unreachable', service: 'web' }),
    ]);
    expect(r.docker).to.deep.include({
      mode: 'swarm',
      tunnelService: { created: 1, repaired: { replicas: 2, image: 1 } },
      servicesUnreadable: { count: 1, openAtEnd: false },
      unreachableServices: ['web'],
    });
    expect(r.verdict).to.equal('degraded');
    expect(r.reasons).to.include('labelled services cloudflared cannot reach: web');
    const table = renderTable([r], 0);
    expect(table).to.include('docker mode: swarm');
    expect(table).to.include('tunnel service created: 1   repaired: replicas: 2, image: 1   services unreadable: 1');
  });

  it('services still unreadable at the end make the host unhealthy', () => {
    const r = review([line(0, { event: 'docker_mode', mode: 'swarm' }), line(5, { event: 'swarm_scan_failed' })]);
    expect(r.verdict).to.equal('unhealthy');
    expect(r.reasons[0]).to.match(/unreadable at the end/);
  });

  it('a decommission: its acknowledged phases and its end', () => {
    const r = review([
      line(0, { event: 'docker_mode', mode: 'standalone' }),
      line(10, { event: 'decommission_acknowledged', phase: 'prepared' }),
      line(20, { event: 'decommission_acknowledged', phase: 'shutdown_scheduled' }),
      line(30, { event: 'agent_self_stop' }),
    ]);
    expect(r.docker.decommission).to.deep.equal({
      phases: ['prepared', 'shutdown_scheduled'],
      finished: true,
      tunnelsRenamedAside: 0,
    });
    expect(renderTable([r], 0)).to.include('decommission: prepared → shutdown_scheduled, finished');
  });
});
