import { expect } from 'chai';
import { tell } from '../../../supervisor/actor-ref.js';
import { TEARDOWN_RESERVE_MS } from '../../../supervisor/tree.js';
import { drain } from '../../helpers/log-sink.js';
import { crash, startProbeTree, type Harness } from '../../helpers/tree-harness.js';

describe('supervisor lifecycle: stash, watchdog, shutdown, health', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.tree.shutdown(1000);
    h = undefined;
  });

  it('keeps messages sent while a child backs off and delivers them in order after the restart', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} } });
    await h.started('a', 1);
    crash(h, 'a');
    await h.sink.waitFor((r) => r.event === 'restart_scheduled');
    for (const v of ['1', '2', '3']) tell(h.cells.a!, { type: 'probe.record', value: v });
    expect(h.cells.a!.stashed).to.equal(3);
    h.clock.advance(100);
    await h.started('a', 2);
    const state = await h.get('a');
    expect(state.seen).to.deep.equal(['1', '2', '3']);
    expect(state.gen).to.equal(2);
  });

  it('hands messages queued behind the crashing one to the next incarnation, ahead of later ones', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} } });
    await h.started('a', 1);
    crash(h, 'a');
    tell(h.cells.a!, { type: 'probe.record', value: 'queued-before' });
    await h.sink.waitFor((r) => r.event === 'restart_scheduled');
    await drain();
    tell(h.cells.a!, { type: 'probe.record', value: 'sent-after' });
    h.clock.advance(100);
    await h.started('a', 2);
    expect((await h.get('a')).seen).to.deep.equal(['queued-before', 'sent-after']);
  });

  it('counts and logs stash overflow, keeping the oldest messages', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: { stash: 2 } } });
    await h.started('a', 1);
    crash(h, 'a');
    await h.sink.waitFor((r) => r.event === 'restart_scheduled');
    await drain();
    for (const v of ['1', '2', '3', '4', '5']) tell(h.cells.a!, { type: 'probe.record', value: v });
    h.clock.advance(100);
    await h.started('a', 2);
    expect((await h.get('a')).seen).to.deep.equal(['1', '2']);
    expect(h.cells.a!.dropped).to.equal(3);
    const logged = h.sink.events('messages_dropped').filter((r) => r.actor === 'a' && r.cause === 'stash_overflow');
    expect(logged.reduce((n, r) => n + Number(r.count), 0)).to.equal(3);
  });

  it('thins the overflow lines per episode: the first drop after a restart is logged at once again', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: { stash: 1 } }, intensity: 10 });
    const overflowLines = (): number =>
      h!.sink
        .events('messages_dropped')
        .filter((r) => r.actor === 'a' && r.cause === 'stash_overflow' && r.msg === 'messages dropped').length;
    for (let gen = 2; gen <= 3; gen++) {
      await h.started('a', gen - 1);
      crash(h, 'a');
      await h.sink.waitForCount((r) => r.event === 'restart_scheduled', gen - 1);
      await drain();
      for (let i = 0; i < 5; i++) tell(h.cells.a!, { type: 'probe.record', value: String(i) }); // Four overflow.
      expect(overflowLines(), `episode ${gen - 1}: its first drop is logged`).to.equal(gen - 1);
      h.clock.advance(10_000);
    }
  });

  it('keeps the overflow lines quiet while the actor is in a crash loop, as its crash lines are', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: { stash: 1 } }, intensity: 10 });
    for (let gen = 2; gen <= 4; gen++) {
      await h.started('a', gen - 1);
      crash(h, 'a', 'daemon gone');
      const scheduled = await h.sink.waitForCount((r) => r.event === 'restart_scheduled', gen - 1);
      await drain();
      for (let i = 0; i < 3; i++) tell(h.cells.a!, { type: 'probe.record', value: String(i) });
      h.clock.advance(Number(scheduled[gen - 2]!.delayMs));
    }
    await h.started('a', 4);
    const levels = h.sink
      .events('messages_dropped')
      .filter((r) => r.actor === 'a')
      .map((r) => r.level);
    expect(levels.slice(-2), 'the third episode').to.deep.equal([20, 20]);
    expect(levels.slice(0, 2), 'the first').to.deep.equal([40, 40]);
  });

  it('restarts an actor whose handler hangs beyond handlerTimeoutMs (watchdog)', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} }, handlerTimeoutMs: 500 });
    await h.started('a', 1);
    tell(h.cells.a!, { type: 'probe.hang' });
    await drain();
    h.clock.advance(499);
    await drain();
    expect(h.sink.events('actor_crashed')).to.be.empty;
    h.clock.advance(1);
    const crashRec = await h.sink.waitFor((r) => r.event === 'actor_crashed' && r.actor === 'a');
    expect((crashRec.err as { name: string }).name).to.equal('HandlerTimeoutError');
    expect(crashRec.msgType).to.equal('probe.hang');
    await h.sink.waitFor((r) => r.event === 'restart_scheduled');
    h.clock.advance(100);
    await h.started('a', 2);
  });

  it('treats a failing init as a crash and backs off instead of looping', async () => {
    let failures = 2;
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: { failInit: () => failures-- > 0 } }, intensity: 5 });
    await h.sink.waitFor((r) => r.event === 'actor_crashed' && r.msgType === '$init');
    expect(h.journal.inits).to.deep.equal([1]);
    await h.sink.waitForCount((r) => r.event === 'restart_scheduled', 1);
    h.clock.advance(100);
    await h.sink.waitForCount((r) => r.event === 'restart_scheduled', 2);
    h.clock.advance(200);
    await h.started('a', 3);
    expect((await h.get('a')).gen).to.equal(3);
    expect(h.journal.inits).to.deep.equal([1, 2, 3]);
  });

  it('shuts down in reverse start order, runs every cleanup, and leaves no timers', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {}, b: {}, c: {} } });
    await h.started('c', 1);
    tell(h.cells.b!, { type: 'probe.arm', delayMs: 60_000, value: 'late' });
    crash(h, 'c');
    await h.sink.waitFor((r) => r.event === 'restart_scheduled');
    const result = await h.tree.shutdown(1000);
    expect(result).to.equal('ok');
    await drain();
    expect(h.journal.shutdowns).to.deep.equal(['b@1', 'a@1']);
    expect(h.journal.releases).to.include.members(['c@1', 'b@1', 'a@1']);
    expect(h.clock.activeTimers).to.equal(0);
    expect(Object.values(h.cells).map((c) => c.status)).to.deep.equal(['stopped', 'stopped', 'stopped']);
    h.clock.advance(120_000);
    await drain();
    expect(h.journal.seen).to.deep.equal([]);
    h = undefined;
  });

  it('kills a child that does not finish its shutdown within its timeout, and the shutdown still completes', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { slow: { shutdownTimeoutMs: 300 }, b: {} } });
    await h.started('b', 1);
    tell(h.cells.slow!, { type: 'probe.hang' });
    await drain();
    const done = h.tree.shutdown(2000);
    await h.sink.waitFor(
      (r) => (r.actor === 'b' && r.event === 'actor_stopped') || (r.child === 'b' && r.event === 'actor_stopped'),
    );
    h.clock.advance(300);
    expect(await done).to.equal('ok');
    expect(h.sink.events('shutdown_timeout').map((r) => r.actor)).to.deep.equal(['slow']);
    h = undefined;
  });

  for (const budgetMs of [8000, 4000, 500]) {
    it(`runs the teardown once every actor has stopped, one backing off included, and keeps its share from a stuck actor (budget ${budgetMs} ms)`, async () => {
      const calls: { at: number; deadline: number; statuses: string[] }[] = [];
      h = startProbeTree({
        strategy: 'one_for_one',
        probes: { stuck: { shutdownTimeoutMs: 60_000 }, down: {} },
        teardown: (deadline) => {
          calls.push({ at: h!.clock.now(), deadline, statuses: Object.values(h!.cells).map((c) => c.status) });
          return Promise.resolve();
        },
      });
      await h.started('down', 1);
      crash(h, 'down');
      await h.sink.waitFor((r) => r.event === 'restart_scheduled' && r.child === 'down');
      tell(h.cells.stuck!, { type: 'probe.hang' });
      await drain();
      const begun = h.clock.now();
      const done = h.tree.shutdown(budgetMs);
      await drain();
      const share = Math.min(TEARDOWN_RESERVE_MS, budgetMs / 2);
      h.clock.advance(budgetMs - share);
      expect(await done, 'an actor had to be killed').to.equal('timeout');
      expect(calls, 'one teardown').to.have.length(1);
      expect(calls[0]!.deadline, 'the whole budget is its deadline').to.equal(begun + budgetMs);
      expect(calls[0]!.deadline - calls[0]!.at, 'what is left for it').to.be.at.least(share);
      expect(calls[0]!.statuses, 'after every actor stopped').to.deep.equal(['stopped', 'stopped']);
      expect(
        h.sink.events('shutdown_timeout').map((r) => r.actor),
        'the stuck one was stopped',
      ).to.include('stuck');
      h = undefined;
    });
  }

  it('does not wait past the budget for a teardown that does not end', async () => {
    h = startProbeTree({
      strategy: 'one_for_one',
      probes: { a: {} },
      teardown: () => new Promise<void>(() => undefined),
    });
    await h.started('a', 1);
    const done = h.tree.shutdown(2000);
    await drain();
    h.clock.advance(2000);
    expect(await done).to.equal('timeout');
    expect(h.sink.events('teardown_timeout')).to.have.length(1);
    h = undefined;
  });

  it('counts a message to a stopped actor as a dead letter, and a stopped actor does nothing more', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { t: { restart: 'temporary' } } });
    await h.started('t', 1);
    tell(h.cells.t!, { type: 'probe.arm', delayMs: 1000, value: 'never' });
    crash(h, 't');
    await h.sink.waitFor((r) => r.event === 'actor_stopped' && r.child === 't');
    tell(h.cells.t!, { type: 'probe.record', value: 'x' });
    h.clock.advance(5000);
    await drain();
    expect(h.journal.seen).to.deep.equal([]);
    expect(h.cells.t!.dropped).to.equal(1);
    expect(h.sink.events('messages_dropped')[0]).to.include({ actor: 't', cause: 'dead_letter', count: 1 });
  });

  it('reports health counts equal to the counts derived from the log records', async () => {
    h = startProbeTree({ strategy: 'rest_for_one', probes: { a: {}, b: {}, c: {} }, intensity: 20, periodMs: 60_000 });
    await h.started('c', 1);
    const plan = ['b', 'a', 'c', 'b', 'c'];
    for (const [i, name] of plan.entries()) {
      crash(h, name);
      await h.sink.waitForCount((r) => r.event === 'restart_scheduled', i + 1);
      h.clock.advance(2000);
      await h.sink
        .waitFor(() => Object.values(h!.cells).every((c) => c.status === 'running'), 10)
        .catch(() => undefined);
      await drain();
    }
    await drain();
    const snap = h.tree.health();
    for (const name of ['a', 'b', 'c']) {
      const restarts = h.sink.events('actor_started').filter((r) => r.child === name && Number(r.gen) > 1).length;
      const crashes = h.sink.events('actor_crashed').filter((r) => r.actor === name).length;
      expect(snap.actors[name]!.restartsTotal, `${name} restarts`).to.equal(restarts);
      expect(snap.actors[name]!.restartsInWindow, `${name} crashes`).to.equal(crashes);
      expect(snap.actors[name]!.gen).to.equal(restarts + 1);
    }
    expect(snap.actors.c!.restartsTotal).to.equal(5);
    expect(snap.actors.a!.restartsTotal).to.equal(1);
  });
});
