import { expect } from 'chai';
import { reporterReportNow } from '../../../../messages/reporter.js';
import { ACCEPTED, event, info, slowScan } from '../../../helpers/reporter-run.js';

describe('reporter: a status report never undoes a newer event', () => {
  it('lays the events told during a slow scan over it: a start is in the report, a stop is not', async () => {
    const run = await slowScan();
    run.driver.tell(reporterReportNow());
    await run.step();
    expect(run.scans, 'a scan is out').to.have.length(1);
    run.driver.tell(event('container_start', 'new'));
    run.driver.tell(event('container_stop', 'gone'));
    await run.step();
    run.scans[0]!([info('gone'), info('kept')]);
    await run.step();
    expect(run.sent().filter((s) => s.startsWith('report'))).to.deep.equal(['report [kept new]']);
  });

  it('sends no event while the report is out, so none reaches the master before it', async () => {
    const run = await slowScan();
    run.driver.tell(reporterReportNow());
    await run.step();
    run.scans[0]!([]);
    await run.step();
    run.driver.tell(event('container_start', 'late'));
    await run.step();
    expect(
      run.sent().filter((s) => s.startsWith('container')),
      'held while the report is out',
    ).to.deep.equal([]);
    run.reports[0]!(ACCEPTED);
    await run.step();
    const order = run.sent().filter((s) => !s.startsWith('heartbeat'));
    expect(order).to.deep.equal(['report []', 'container_start late']);
  });

  it('posts no report whose scan ends after a decommission began: nothing is reported from then on', async () => {
    const run = await slowScan();
    expect(run.scans, "the session's first scan is out").to.have.length(1);
    run.lifecycle.lifecycle = 'prepared';
    run.scans[0]!([info('a')]);
    await run.step();
    expect(run.sent().filter((s) => s.startsWith('report'))).to.deep.equal([]);
  });
});
