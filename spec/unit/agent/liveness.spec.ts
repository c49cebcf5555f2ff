import { expect } from 'chai';
import { healthReport, livenessReport } from '../../../agent/health-report.js';
import { StatusBoard } from '../../../domain/status-board.js';
import { crash, startProbeTree, type Harness } from '../../helpers/tree-harness.js';

describe('agent/health-report: liveness apart from readiness', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.tree.shutdown(1000);
    h = undefined;
  });

  it('is alive however long the master has been away, while /health says unhealthy', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} } });
    await h.started('a', 1);
    const board = new StatusBoard('https://master.example');
    board.publish('tunnel', { desiredState: 'running', containerRunning: true });
    for (const age of [null, 150_000, 3_600_000]) {
      const ready = healthReport({
        snapshot: h.tree.health(),
        facts: board.read(),
        masterLastSuccessAt: null,
        lifecycle: 'enrolled',
        masterContactAgeMs: age,
      });
      expect(ready.httpStatus, `/health, contact age ${String(age)}`).to.equal(503);
      expect(livenessReport(h.tree.health()), `/livez, contact age ${String(age)}`).to.deep.equal({
        httpStatus: 200,
        body: { status: 'alive', reasons: [] },
      });
    }
  });

  it('is stuck when an actor failed for good', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: { restart: 'temporary' } } });
    await h.started('a', 1);
    crash(h, 'a');
    await h.sink.waitFor((r) => r.event === 'actor_crashed');
    await h.sink.waitFor(() => h!.tree.health().actors.a?.status === 'failed');
    const live = livenessReport(h.tree.health());
    expect([live.httpStatus, live.body.status, live.body.reasons]).to.deep.equal([
      503,
      'stuck',
      ['a failed and is not restarted'],
    ]);
  });

  it('is stuck while an actor crash-loops, and alive again once it has recovered', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} }, intensity: 20 });
    await h.started('a', 1);
    for (let gen = 2; gen <= 4; gen++) {
      crash(h, 'a', 'daemon gone');
      const rec = await h.sink.waitFor((r) => r.event === 'restart_scheduled' && r.attempt === gen - 1);
      h.clock.advance(Number(rec.delayMs));
      await h.started('a', gen);
    }
    expect(livenessReport(h.tree.health()).httpStatus, 'three crashes in a row').to.equal(503);
    h.clock.advance(10_000);
    await h.sink.waitFor((r) => r.event === 'actor_recovered');
    expect(livenessReport(h.tree.health()).httpStatus, 'recovered').to.equal(200);
  });
});
