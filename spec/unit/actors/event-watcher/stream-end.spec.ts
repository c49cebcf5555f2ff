import { expect } from 'chai';
import { EventStreamEnded, eventWatcherDef, LONG_STREAM_MS } from '../../../../actors/event-watcher/event-watcher.js';
import { dockerStandIn } from '../../../helpers/docker-stand-in.js';
import type { DockerPort } from '../../../../docker/port.js';
import type { ReporterMsg } from '../../../../messages/reporter.js';
import { callbackRef } from '../../../../supervisor/actor-ref.js';
import { ActorDriver } from '../../../helpers/actor-driver.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

describe('event watcher: the end of its stream', () => {
  async function subscribed(): Promise<{
    clock: ManualClock;
    sink: LogSink;
    restarts: string[];
    end: (reason: string) => Promise<unknown>;
  }> {
    const clock = new ManualClock();
    const sink = new LogSink();
    const restarts: string[] = [];
    let onEnd: ((reason: string) => void) | undefined;
    const docker: DockerPort = dockerStandIn('stream-end spec', {
      listManagedContainers: () => Promise.resolve([]),
      subscribeEvents: (_since, _actions, handlers) => {
        onEnd = (reason) => {
          handlers.onEnd(reason);
        };
        return Promise.resolve({ close: () => undefined });
      },
    });
    const def = eventWatcherDef({
      docker,
      reporter: callbackRef<ReporterMsg>('reporter', (msg) => {
        if (msg.type !== 'reporter.feed') throw new Error(`reporter: unexpected ${msg.type}`);
      }),
      tunnelKeeper: callbackRef('tunnel-keeper', () => {
        throw new Error('tunnel keeper: unexpected message');
      }),
    });
    const driver = new ActorDriver(def, {
      name: 'event-watcher',
      log: sink.log,
      clock,
      restartSelf: (why) => {
        restarts.push(why);
      },
    });
    await driver.start();
    return {
      clock,
      sink,
      restarts,
      /** The stream ends; what handling that did, or the crash it was. */
      end: (reason: string): Promise<unknown> => {
        onEnd!(reason);
        return driver.settle().then(
          () => null,
          (err: unknown) => err,
        );
      },
    };
  }

  it('a stream that breaks soon after it began is a crash, retried with the backoff', async () => {
    const run = await subscribed();
    run.clock.advance(LONG_STREAM_MS - 1);
    const crash = await run.end('error: aborted');
    expect(crash).to.be.instanceOf(EventStreamEnded);
    expect((crash as Error).message).to.match(/broke: error: aborted/);
    expect(run.restarts).to.deep.equal([]);
  });

  it("a stream closed after a long run (a proxy's 10-minute timeout) is subscribed again as a restart, at info, not a crash", async () => {
    const run = await subscribed();
    run.clock.advance(10 * 60_000);
    expect(await run.end('closed')).to.equal(null);
    expect(run.restarts).to.have.length(1);
    expect(run.sink.events('event_stream_closed').map((r) => [r.level, r.reason, r.ranMs])).to.deep.equal([
      [30, 'closed', 600_000],
    ]);
  });

  it('a line no daemon sends is a crash however long the stream ran', async () => {
    const run = await subscribed();
    run.clock.advance(10 * 60_000);
    expect(await run.end('an event line over 1048576 characters')).to.be.instanceOf(EventStreamEnded);
    expect(run.restarts).to.deep.equal([]);
  });

  it('after a gap the master gets a full report, also on a quiet host where no event was handled yet', async () => {
    const reports: string[] = [];
    const running = { id: 'c'.repeat(64), name: 'web', status: 'running', labels: { 'dockflare.enable': 'true' } };
    const docker = dockerStandIn('watcher spec', {
      listManagedContainers: () => Promise.resolve([running]),
      subscribeEvents: () => Promise.resolve({ close: () => undefined }),
    });
    const def = eventWatcherDef({
      docker,
      tunnelKeeper: callbackRef('tunnel-keeper', () => {
        throw new Error('tunnel keeper: unexpected message');
      }),
      reporter: callbackRef<ReporterMsg>('reporter', (msg) => {
        if (msg.type === 'reporter.feed')
          reports.push(`feed ${msg.live ? 'live' : 'down'} [${msg.inventory?.map((c) => c.name).join(' ') ?? ''}]`);
        else if (msg.type !== 'reporter.enqueue') reports.push(msg.type);
      }),
    });
    const driver = new ActorDriver(def, { name: 'event-watcher', log: new LogSink().log, clock: new ManualClock() });
    await driver.start();
    // The scan goes with it: the Reporter's baseline, with the events handed on from the subscription.
    expect(reports, 'the first stream: the scan says it all').to.deep.equal(['feed live [web]']);
    reports.length = 0;
    driver.kill();
    expect(reports, 'the stream ends with its incarnation').to.deep.equal(['feed down []']);
    reports.length = 0;
    await driver.start();
    expect(reports, 'a stream after a gap').to.deep.equal(['feed live [web]', 'reporter.report-now']);
  });
});
