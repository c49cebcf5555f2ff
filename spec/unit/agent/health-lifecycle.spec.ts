import { expect } from 'chai';
import { decommissionedReport, healthReport } from '../../../agent/health-report.js';
import { StatusBoard } from '../../../domain/status-board.js';

describe('agent/health-report: the decommission lifecycle', () => {
  const snapshot = { at: '2026-12-07T12:00:00.000Z', uptimeMs: 1000, actors: {} };
  // A tunnel stopped on purpose and a master that no longer answers events: unhealthy for an enrolled agent.
  const board = new StatusBoard('https://master.example');
  board.publish('registration', { registered: true, agentId: 'agent-1' });
  board.publish('tunnel', { desiredState: 'running', containerRunning: false });
  const report = (lifecycle: 'enrolled' | 'prepared' | 'decommissioned') =>
    healthReport({ snapshot, facts: board.read(), masterLastSuccessAt: null, masterContactAgeMs: null, lifecycle });

  it('answers 200 with the lifecycle while prepared or decommissioned, whatever the tunnel and the master do', () => {
    expect(report('enrolled').httpStatus).to.equal(503);
    for (const lifecycle of ['prepared', 'decommissioned'] as const) {
      const r = report(lifecycle);
      expect(r.httpStatus, lifecycle).to.equal(200);
      expect(r.body).to.include({ status: lifecycle, lifecycle });
    }
    expect(report('enrolled').body).to.include({ lifecycle: 'enrolled' });
  });

  it('a decommissioned start answers with the tombstone it found', () => {
    expect(decommissionedReport('/app/data/decommission.json')).to.deep.equal({
      httpStatus: 200,
      body: {
        status: 'decommissioned',
        lifecycle: 'decommissioned',
        reasons: [],
        tombstone: '/app/data/decommission.json',
      },
    });
  });
});
