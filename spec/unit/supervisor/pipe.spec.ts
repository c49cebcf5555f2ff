import { expect } from 'chai';
import { tell } from '../../../supervisor/actor-ref.js';
import { drain } from '../../helpers/log-sink.js';
import { crash, startProbeTree, type Harness } from '../../helpers/tree-harness.js';

function deferred(): { promise: Promise<string>; resolve: (v: string) => void; reject: (e: Error) => void } {
  let resolve!: (v: string) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('supervisor/actor-host: pipe to self', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.tree.shutdown(1000);
    h = undefined;
  });

  it('delivers a resolved result as a message to the actor', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} } });
    const work = deferred();
    tell(h.cells.a!, { type: 'probe.pipe', work: work.promise, mapError: false });
    work.resolve('done');
    await h.started('a', 1);
    await drain();
    expect((await h.get('a')).seen).to.deep.equal(['ok:done']);
  });

  it('maps a rejection to a message when asked to', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} } });
    const work = deferred();
    tell(h.cells.a!, { type: 'probe.pipe', work: work.promise, mapError: true });
    await drain();
    work.reject(new Error('nope'));
    await drain();
    expect((await h.get('a')).seen).to.deep.equal(['err:nope']);
    expect(h.sink.events('actor_crashed')).to.be.empty;
  });

  it('turns an unmapped rejection into a crash through the mailbox, which the supervisor restarts', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} } });
    const work = deferred();
    tell(h.cells.a!, { type: 'probe.pipe', work: work.promise, mapError: false });
    await drain();
    work.reject(new Error('stream broke'));
    const rec = await h.sink.waitFor((r) => r.event === 'actor_crashed');
    expect(rec).to.include({ actor: 'a', gen: 1, msgType: '$crash' });
    expect((rec.err as { message: string }).message).to.equal('stream broke');
    await h.sink.waitFor((r) => r.event === 'restart_scheduled');
    h.clock.advance(100);
    await h.started('a', 2);
  });

  it('does not hand a result already queued for a dying incarnation to the next one; what others sent it, it does', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} } });
    await h.started('a', 1);
    const work = deferred();
    tell(h.cells.a!, { type: 'probe.pipe', work: work.promise, mapError: false });
    await drain();
    // In one turn: the crash, a message from outside, then the result (its callback runs as a microtask): all three
    // are in the mailbox when the crash is handled.
    crash(h, 'a');
    tell(h.cells.a!, { type: 'probe.record', value: 'from-outside' });
    work.resolve('stale');
    await h.sink.waitFor((r) => r.event === 'restart_scheduled');
    h.clock.advance(100);
    await h.started('a', 2);
    await drain();
    expect((await h.get('a')).seen).to.deep.equal(['from-outside']);
  });

  it('drops the result of work started by an incarnation that has since died', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} } });
    const work = deferred();
    tell(h.cells.a!, { type: 'probe.pipe', work: work.promise, mapError: false });
    crash(h, 'a');
    await h.sink.waitFor((r) => r.event === 'restart_scheduled');
    h.clock.advance(100);
    await h.started('a', 2);
    work.resolve('stale');
    await drain();
    expect((await h.get('a')).seen).to.deep.equal([]);
  });
});
