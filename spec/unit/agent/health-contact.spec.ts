import { expect } from 'chai';
import { healthReport } from '../../../agent/health-report.js';
import { StatusBoard } from '../../../domain/status-board.js';
import type { HealthSnapshot } from '../../../supervisor/health.js';

const snapshot = { uptimeMs: 1000, actors: {} } as unknown as HealthSnapshot;

describe('agent/health-report: the master contact window', () => {
  const board = new StatusBoard('https://master.example');
  board.publish('registration', { registered: true, agentId: 'a' });
  const report = (ageMs: number, contactMs?: number) =>
    healthReport({
      snapshot,
      facts: board.read(),
      masterLastSuccessAt: 0,
      masterContactAgeMs: ageMs,
      lifecycle: 'enrolled',
      ...(contactMs === undefined ? {} : { contactMs }),
    }).body.status;

  it('healthy within 120 s by default, degraded after, unhealthy after 2.5 times it', () => {
    expect(report(119_000)).to.equal('healthy');
    expect(report(121_000)).to.equal('degraded');
    expect(report(301_000)).to.equal('unhealthy');
  });

  it('HEALTH_MASTER_CONTACT_SECONDS moves the window (a long command poll interval needs a longer one)', () => {
    expect(report(500_000, 600_000)).to.equal('healthy');
    expect(report(9000, 8000)).to.equal('degraded');
    expect(report(21_000, 8000)).to.equal('unhealthy');
  });
});
