import { expect } from 'chai';
import { useSpecSession } from '../../helpers/spec-session.js';
import { removeSpecContainers } from '../../helpers/docker-fixtures.js';
import type { RecordedRequest } from '../../master/index.js';

const typeOf = (r: RecordedRequest): unknown => (r.body as { type?: unknown } | undefined)?.type;

describe('master side: heartbeats keep their own pace', () => {
  const harness = useSpecSession(removeSpecContainers);

  it('sends a status report every second but a heartbeat only every HEARTBEAT_INTERVAL_SECONDS', async () => {
    const master = await harness.master();
    const agent = await harness.agent({
      key: master.generateKey(),
      env: { REPORT_INTERVAL_SECONDS: '1', HEARTBEAT_INTERVAL_SECONDS: '4' },
    });
    await agent.registered();
    const reports = await master.waitForCount(
      (r) => r.endpoint === 'events' && typeOf(r) === 'status_report' && r.status === 200,
      9,
      20_000,
    );
    const span = master.requests.filter(
      (r) => r.endpoint === 'events' && r.seq <= reports.at(-1)!.seq && typeOf(r) === 'heartbeat',
    );
    // Nine reports take eight ticks of about a second: the session's heartbeat, then one every fourth tick or so.
    expect(span.length, 'heartbeats beside nine reports').to.be.within(2, 4);
    expect(span.every((r) => r.status === 202)).to.equal(true);
  });
});
