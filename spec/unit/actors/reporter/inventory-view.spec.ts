import { expect } from 'chai';
import { INVENTORY_RESCAN_MS, InventoryView } from '../../../../actors/reporter/inventory-view.js';
import type { ContainerInfo } from '../../../../domain/container.js';
import { reporterFeed, reporterReportNow, reporterTick } from '../../../../messages/reporter.js';
import { ACCEPTED, event, info, slowScan } from '../../../helpers/reporter-run.js';

type Run = Awaited<ReturnType<typeof slowScan>>;

/** One report asked for and answered; the scan, if one goes out, answers `containers` (an Error fails it). */
async function report(run: Run, containers: ContainerInfo[] | Error = []): Promise<void> {
  const scansBefore = run.scans.length;
  const reportsBefore = run.reports.length;
  run.driver.tell(reporterReportNow());
  await run.step();
  if (run.scans.length > scansBefore) {
    if (containers instanceof Error) throw new Error('a failing scan is set up with failScan');
    run.scans.at(-1)!(containers);
    await run.step();
  }
  if (run.reports.length > reportsBefore) {
    run.reports.at(-1)!(ACCEPTED);
    await run.step();
  }
}

/** The first session's report is answered (from an empty host): each spec starts from a quiet Reporter. */
async function started(opts: Parameters<typeof slowScan>[0] = {}): Promise<Run> {
  const run = await slowScan(opts);
  run.scans[0]!([]);
  await run.step();
  run.reports[0]!(ACCEPTED);
  await run.step();
  run.scans.length = 0;
  run.reports.length = 0;
  run.bodies.length = 0;
  return run;
}

const reports = (run: Run): string[] => run.sent().filter((s) => s.startsWith('report'));

describe('reporter: the inventory from events between Docker scans', () => {
  it("takes the watcher's scan as its baseline: the session's first report needs no scan of its own", async () => {
    const run = await slowScan({ registerLater: true });
    run.driver.tell(reporterFeed(true, [info('a'), info('b')]));
    run.driver.tell(event('container_stop', 'a'));
    run.driver.tell(event('container_start', 'c'));
    await run.step();
    await run.register();
    expect(reports(run), 'the scan with the events handed on since').to.deep.equal(['report [b c]']);
    run.reports[0]!(ACCEPTED);
    await run.step();
    expect(reports(run), 'one report for the session').to.have.length(1);
    expect(run.scans, 'no scan of its own').to.have.length(0);
  });

  it("does not use the watcher's scan in Swarm mode, nor one that arrives with the stream down", async () => {
    const swarm = await slowScan({ registerLater: true, fromEvents: false });
    swarm.driver.tell(reporterFeed(true, [info('a')]));
    await swarm.register();
    const down = await slowScan({ registerLater: true });
    down.driver.tell(reporterFeed(false, [info('a')]));
    await down.register();
    expect(swarm.scans.length + down.scans.length, 'each report scans Docker').to.equal(2);
  });

  it('scans once while the stream is live, then reports from the events it is handed', async () => {
    const run = await started();
    run.driver.tell(reporterFeed(true));
    await report(run, [info('a'), info('b')]);
    run.driver.tell(event('container_stop', 'a'));
    run.driver.tell(event('container_start', 'c'));
    await run.step();
    await report(run);
    await report(run);
    expect(run.scans, 'Docker scanned once').to.have.length(1);
    expect(reports(run)).to.deep.equal(['report [a b]', 'report [b c]', 'report [b c]']);
  });

  it('scans Docker again once the baseline is older than the rescan interval', async () => {
    const run = await started({ rescanMs: 60_000 });
    run.driver.tell(reporterFeed(true));
    await report(run, [info('a')]);
    await run.driver.advance(59_999);
    await report(run);
    expect(run.scans, 'within the interval').to.have.length(1);
    await run.driver.advance(1);
    await report(run, [info('a'), info('renamed')]);
    expect(run.scans, 'after it').to.have.length(2);
    expect(reports(run).at(-1)).to.equal('report [a renamed]');
  });

  it('scans Docker for every report while the stream is down, and before the first feed', async () => {
    const run = await started();
    await report(run, [info('a')]);
    await report(run, [info('a')]);
    expect(run.scans, 'no feed yet').to.have.length(2);
    run.driver.tell(reporterFeed(true));
    await report(run, [info('a')]);
    await report(run);
    expect(run.scans, 'live').to.have.length(3);
    run.driver.tell(reporterFeed(false));
    await report(run, [info('a')]);
    expect(run.scans, 'down again').to.have.length(4);
  });

  it('does not take a scan that began before the stream went down as its baseline', async () => {
    const run = await started();
    run.driver.tell(reporterFeed(true));
    await run.step();
    run.driver.tell(reporterReportNow());
    await run.step();
    run.driver.tell(reporterFeed(false));
    run.driver.tell(reporterFeed(true));
    await run.step();
    run.scans[0]!([info('old')]);
    await run.step();
    run.reports[0]!(ACCEPTED);
    await run.step();
    await report(run, [info('new')]);
    expect(run.scans, 'the stale scan was not adopted').to.have.length(2);
    expect(reports(run)).to.deep.equal(['report [old]', 'report [new]']);
  });

  it('scans for every report when it may not use events (Swarm mode)', async () => {
    const run = await started({ fromEvents: false });
    run.driver.tell(reporterFeed(true));
    await report(run, [info('a')]);
    await report(run, [info('a')]);
    expect(run.scans).to.have.length(2);
  });

  it('keeps no baseline of its own: a view without a live feed or after the rescan interval answers null', () => {
    const view = new InventoryView();
    expect(view.ticket, 'not live').to.equal(null);
    view.feed(true);
    view.adopt(view.ticket, [info('a')], 0);
    expect(view.current(INVENTORY_RESCAN_MS - 1)?.map((c) => c.id)).to.deep.equal(['a']);
    expect(view.current(INVENTORY_RESCAN_MS)).to.equal(null);
    view.feed(false);
    expect(view.current(0)).to.equal(null);
  });

  it('logs a report the master keeps refusing as too large once, though the heartbeats between are accepted', async () => {
    const run = await started();
    run.driver.tell(reporterFeed(true));
    const tooLarge = { ok: false as const, failure: { kind: 'too_large' as const, status: 413 as const } };
    for (let i = 0; i < 4; i++) {
      run.driver.tell(reporterTick());
      await run.step();
      if (run.scans.length > 0) {
        run.scans.pop()!([info('a')]);
        await run.step();
      }
      run.reports.pop()!(tooLarge);
      await run.step();
    }
    const heartbeats = run.sent().filter((x) => x === 'heartbeat');
    expect(heartbeats.length, 'heartbeats went out and were accepted in between').to.be.at.least(3);
    const loud = run.sink.records.filter((r) => r.event === 'status_report_rejected' && r.level >= 40);
    expect(loud, 'one loud line for the episode').to.have.length(1);
  });
});
