import { expect } from 'chai';
import { specMasterClient } from '../../helpers/master-client.js';
import { healthReport } from '../../../agent/health-report.js';
import { StatusBoard } from '../../../domain/status-board.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { TestMaster } from '../../master/index.js';

describe('master client: the age of the last contact across a step of the system clock', () => {
  let master: TestMaster | undefined;
  afterEach(async () => {
    await master?.stop();
    master = undefined;
  });

  it('a clock set back an hour does not make a contact 200 s old look fresh to /health', async () => {
    master = await TestMaster.start({ mode: 'v2' });
    const clock = new ManualClock();
    const client = specMasterClient(master.url, { apiKey: master.generateKey(), clock });
    const reg = await client.register({
      display_name: 'clock',
      version: '1',
      agent_version: '1',
      supported_protocol_versions: [2, 1],
    });
    expect(reg.ok, 'registered').to.equal(true);
    expect(client.lastSuccessAgeMs).to.equal(0);

    clock.advance(200_000);
    clock.stepWall(-3_600_000);
    expect(clock.now() - client.lastSuccessAt!, 'by the wall clock it would be in the future').to.be.below(0);
    expect(client.lastSuccessAgeMs).to.equal(200_000);
    const board = new StatusBoard(master.url);
    board.publish('registration', { registered: true, agentId: 'a' });
    board.publish('tunnel', { desiredState: 'stopped', containerRunning: false });
    const report = healthReport({
      snapshot: { at: '', uptimeMs: 0, actors: {} },
      facts: board.read(),
      masterLastSuccessAt: client.lastSuccessAt,
      lifecycle: 'enrolled',
      masterContactAgeMs: client.lastSuccessAgeMs,
    });
    expect([report.httpStatus, report.body.reasons]).to.deep.equal([503, ['no master contact for 200 s']]);
  });
});
