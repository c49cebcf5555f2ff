import { expect } from 'chai';
import { eventWatcherDef, type EventWatcherState } from '../../../../actors/event-watcher/event-watcher.js';
import type { WatcherMemory } from '../../../../actors/event-watcher/watcher-memory.js';
import type { EventWatcherMsg } from '../../../../messages/event-watcher.js';
import type { ReporterMsg } from '../../../../messages/reporter.js';
import { callbackRef } from '../../../../supervisor/actor-ref.js';
import { seededRandom } from '../../../../agent/chaos.js';
import { ActorDriver } from '../../../helpers/actor-driver.js';
import { DockerEventModel } from '../../../helpers/docker-event-model.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

const MANAGED = { 'dockflare.enable': 'true' };
const turn = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve);
  });

/**
 * Drives the real watcher definition as the actor host does (spec/helpers/actor-driver.ts: init first, then the
 * mailbox in order; a kill aborts the incarnation and releases it), against a Docker model whose every delivery, list
 * answer and container change is a step the spec chooses. A killed incarnation's unread stream events go to the next
 * one here; the host drops them (they are the incarnation's own), and handing them on is the harder case, so the
 * model keeps it.
 */
class WatcherRun {
  readonly clock = new ManualClock();
  readonly docker = new DockerEventModel(this.clock);
  readonly sink = new LogSink();
  /** What the master is told, per container, in order. */
  readonly told = new Map<string, ('start' | 'stop')[]>();
  readonly trace: string[] = [];
  /** When the first incarnation that knew a handled event started: from then on every restart replays. */
  resumingSinceNano: bigint | null = null;
  private readonly driver: ActorDriver<EventWatcherState, EventWatcherMsg, WatcherMemory>;

  constructor() {
    const reporter = callbackRef<ReporterMsg>('reporter', (msg) => {
      if (msg.type === 'reporter.report-now' || msg.type === 'reporter.feed') return;
      if (msg.type !== 'reporter.enqueue' || msg.event.type === 'tunnel_status')
        throw new Error(`reporter: unexpected ${msg.type}`);
      const id = msg.event.container.id;
      const kind = msg.event.type === 'container_start' ? 'start' : 'stop';
      this.trace.push(`told ${kind} ${id}`);
      this.told.set(id, [...(this.told.get(id) ?? []), kind]);
    });
    const tunnelKeeper = callbackRef('tunnel-keeper', () => {
      throw new Error('tunnel keeper: unexpected message');
    });
    const def = eventWatcherDef({ docker: this.docker.port(), reporter, tunnelKeeper });
    this.driver = new ActorDriver(def, {
      name: 'event-watcher',
      log: this.sink.log,
      clock: this.clock,
      onCrash: 'kill',
      handOnOwnMessages: true,
    });
  }

  /** What the watcher's incarnations carry. */
  get memory(): WatcherMemory {
    return this.driver.carried;
  }

  get alive(): boolean {
    return this.driver.alive;
  }

  spawn(): void {
    // A restart waits out its backoff, and Docker and the agent stamp time in different units (ns, ms): an event in
    // the millisecond of a scan can fall either side of it, and taking it for a later one may flap, not mislead.
    this.clock.advance(1);
    if (this.memory.sinceNano !== null) this.resumingSinceNano ??= BigInt(this.clock.now()) * 1_000_000n;
    const inc = this.driver.spawn();
    this.trace.push(`spawn ${inc.gen} at ${this.clock.now()}`);
  }

  kill(): void {
    const inc = this.driver.incarnation;
    if (!inc) return;
    this.trace.push(`kill ${inc.gen}`);
    this.driver.kill();
  }

  /** Docker answers the oldest container list still out. */
  answerList(): boolean {
    const answered = this.docker.answerList();
    if (answered) this.trace.push(`scan answered (running ${[...this.docker.running.keys()].join(' ')})`);
    return answered;
  }

  /** Handles the next message of a ready incarnation; a throw is a crash. */
  async handleOne(): Promise<boolean> {
    const inc = this.driver.incarnation;
    const letter = inc?.state === undefined ? undefined : inc.mailbox[0];
    const next = letter && 'msg' in letter ? letter.msg : undefined;
    if (next?.type === 'watcher.event') this.trace.push(`handle ${next.event.action} ${next.event.id}`);
    return this.driver.handleOne();
  }

  /** Lets everything in flight arrive and be handled, with a live incarnation. */
  async settle(): Promise<void> {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      if (!this.alive) this.spawn();
      await turn();
      const moved = this.answerList() || this.docker.deliverOne() || (await this.handleOne());
      if (!moved && this.driver.incarnation?.state !== undefined) return;
    }
    throw new Error('watcher run did not settle');
  }
}

/** `noise`: bursts of events nobody subscribes to push a container's story out of Docker's replay buffer. */
async function chaosRun(seed: number, noise = false): Promise<WatcherRun> {
  const random = seededRandom(seed);
  const run = new WatcherRun();
  run.spawn();
  const ids: string[] = [];
  for (let step = 0; step < 300; step++) {
    const r = random();
    if (r < 0.12) {
      const stopped = ids.filter((id) => !run.docker.running.has(id));
      const id =
        stopped.length > 0 && random() < 0.3
          ? stopped[Math.floor(random() * stopped.length)]!
          : `c${ids.push(`c${ids.length}`) - 1}`;
      run.trace.push(`docker start ${id}`);
      run.docker.start(id, MANAGED);
    } else if (r < 0.22 && run.docker.running.size > 0) {
      const live = [...run.docker.running.keys()];
      const id = live[Math.floor(random() * live.length)]!;
      run.trace.push(`docker stop ${id}`);
      run.docker.stop(id);
    } else if (r < 0.3) {
      run.kill();
    } else if (r < 0.4) {
      if (!run.alive) run.spawn();
    } else if (r < 0.5) {
      if (noise && random() < 0.3) run.docker.noise(Math.floor(random() * 150));
      else run.clock.advance(Math.floor(random() * 4));
    } else if (r < 0.6) {
      run.answerList();
    } else if (r < 0.8) {
      run.docker.deliverOne();
    } else {
      await run.handleOne();
    }
    await turn();
  }
  await run.settle();
  return run;
}

/** End state right, at most one start told per real start, starts and stops alternating; `gaps`: see below. */
function checkRun(seed: number, run: WatcherRun, gaps: boolean): void {
  const why = (id: string): string =>
    `seed ${seed}, ${id}: told ${(run.told.get(id) ?? []).join(',')}\n${run.trace.filter((l) => l.endsWith(` ${id}`) || /^(spawn|kill)/.test(l)).join('\n')}`;
  for (const id of run.docker.starts.keys()) {
    const told = run.told.get(id) ?? [];
    const expected = run.docker.running.has(id) ? 'start' : 'stop';
    // Once an incarnation starts that knows a handled event, every restart replays from before the gap: a
    // container started after that is told even if it came and went while no incarnation was looking (while
    // Docker's buffer still holds its story). One that came and went before may never be mentioned.
    const replayable =
      gaps && run.resumingSinceNano !== null && run.docker.firstStartNano.get(id)! > run.resumingSinceNano;
    if (told.length === 0 && expected === 'stop' && !replayable) continue;
    expect(told.at(-1), why(id)).to.equal(expected);
    expect(told.filter((t) => t === 'start').length, why(id)).to.be.at.most(run.docker.starts.get(id)!);
    told.forEach((t, i) => {
      expect(t, why(id)).to.equal(i % 2 === 0 ? 'start' : 'stop');
    });
  }
}

describe('event watcher under restarts at any point', () => {
  it('does not tell a start it never saw once its stop was handled: the replay after a restart brings it back', async () => {
    const run = new WatcherRun();
    run.docker.start('a', MANAGED);
    run.clock.advance(5);
    run.spawn();
    await turn();
    run.docker.stop('a');
    await run.settle(); // The first scan answers after the stop: nothing to tell; the stop is handled and remembered.
    run.kill();
    await run.settle(); // The next incarnation replays from before the stop, which reaches back to the start.
    expect(run.told.get('a'), run.trace.join('\n')).to.equal(undefined);
  });

  it('does not tell the die of an earlier run of a container that runs again: the scan already saw it running', async () => {
    const run = new WatcherRun();
    run.spawn();
    await run.settle();
    run.docker.start('b', MANAGED);
    await run.settle();
    run.kill();
    run.docker.stop('b');
    run.docker.start('b', MANAGED);
    run.clock.advance(5);
    await run.settle();
    expect(run.told.get('b'), run.trace.join('\n')).to.deep.equal(['start']);
  });

  it("tells a start whose stop has left Docker's replay buffer together with a stop: the scan saw it gone", async () => {
    const run = new WatcherRun();
    run.spawn();
    run.docker.start('warmup', MANAGED);
    await run.settle(); // An event handled: restarts from now on resume.
    run.docker.start('x', MANAGED);
    run.docker.deliverOne(); // In the mailbox, unread.
    run.kill();
    run.docker.stop('x');
    run.docker.noise(300);
    run.clock.advance(5);
    await run.settle();
    expect(run.told.get('x'), run.trace.join('\n')).to.deep.equal(['start', 'stop']);
  });

  it("tells a start from an earlier incarnation's mailbox that is older than the stream it resumes together with a stop", async () => {
    const run = new WatcherRun();
    run.spawn();
    await run.settle(); // Nothing handled yet: the next incarnation starts afresh from its own scan.
    run.docker.start('y', MANAGED);
    run.docker.deliverOne();
    run.kill();
    run.docker.stop('y');
    run.clock.advance(5);
    await run.settle();
    expect(run.told.get('y'), run.trace.join('\n')).to.deep.equal(['start', 'stop']);
  });

  it("tells the master each container's real end state, a start only for a real start, and what came and went in a gap, whatever the interleaving", async function () {
    this.timeout(60_000);
    for (let seed = 1; seed <= 400; seed++) checkRun(seed, await chaosRun(seed), true);
  });

  it("tells each container's real end state also when its story has left Docker's replay buffer", async function () {
    this.timeout(60_000);
    for (let seed = 1; seed <= 400; seed++) checkRun(seed, await chaosRun(seed, true), false);
  });
});
