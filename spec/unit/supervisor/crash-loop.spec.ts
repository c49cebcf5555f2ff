import { expect } from 'chai';
import { injectCrash } from '../../../supervisor/protocol.js';
import { tell } from '../../../supervisor/actor-ref.js';
import { healthReport } from '../../../agent/health-report.js';
import { StatusBoard } from '../../../domain/status-board.js';
import { crash, startProbeTree, DEFAULT_BACKOFF, type Harness } from '../../helpers/tree-harness.js';
import type { LogRecord } from '../../helpers/log-sink.js';

const ERROR = 50;
const WARN = 40;
const INFO = 30;
const DEBUG = 20;

describe('supervisor/crash-loop: one failure repeating is told once, not every round', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.tree.shutdown(1000);
    h = undefined;
  });

  /** Crashes `a` with `why`, waits for its restart and lets the backoff pass; returns the generation started. */
  async function crashAndRestart(harness: Harness, why: string, gen: number): Promise<void> {
    crash(harness, 'a', why);
    const scheduled = await harness.sink.waitForCount(
      (r) => r.event === 'restart_scheduled' && r.child === 'a',
      gen - 1,
    );
    harness.clock.advance(Number(scheduled[gen - 2]!.delayMs));
    await harness.started('a', gen);
  }

  const levels = (harness: Harness, pred: (r: LogRecord) => boolean): number[] =>
    harness.sink.records.filter(pred).map((r) => r.level);
  const crashes = (r: LogRecord): boolean => r.event === 'actor_crashed' && r.actor === 'a';
  const restarts = (r: LogRecord): boolean => r.event === 'restart_scheduled' && r.child === 'a';
  const starts = (r: LogRecord): boolean => r.event === 'actor_started' && r.child === 'a';

  /**
   * Everything the supervisor was sent before returns is handled once a crash of probe `b` sent now is: a positive
   * barrier for asserting that something did not happen.
   */
  async function supervisorBarrier(harness: Harness): Promise<void> {
    const before = harness.sink.events('restart_scheduled').filter((r) => r.child === 'b').length;
    crash(harness, 'b', 'barrier');
    await harness.sink.waitForCount((r) => r.event === 'restart_scheduled' && r.child === 'b', before + 1);
  }

  it('/health is degraded while an actor crash-loops, also while it runs between crashes, and healthy once it has recovered', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {}, b: {} }, intensity: 20 });
    const board = new StatusBoard('https://master.example');
    board.publish('registration', { registered: true, agentId: 'agent-1' });
    board.publish('tunnel', { desiredState: 'stopped', containerRunning: false });
    const health = () =>
      healthReport({
        snapshot: h!.tree.health(),
        lifecycle: 'enrolled',
        facts: board.read(),
        masterLastSuccessAt: h!.clock.now(),
        masterContactAgeMs: 0,
      });
    await h.started('a', 1);
    for (let gen = 2; gen <= 3; gen++) await crashAndRestart(h, 'daemon gone', gen);
    expect(health().httpStatus, 'two crashes: not yet a loop').to.equal(200);
    await crashAndRestart(h, 'daemon gone', 4);
    const looping = health();
    expect(h.tree.health().actors.a!.status, 'running between crashes').to.equal('running');
    expect([looping.httpStatus, looping.body.reasons]).to.deep.equal([
      503,
      ['a is in a crash loop (3 crashes in a row with the same error)'],
    ]);
    h.clock.advance(DEFAULT_BACKOFF.resetAfterMs);
    await h.sink.waitFor((r) => r.event === 'actor_recovered');
    expect(health().httpStatus, 'recovered').to.equal(200);
  });

  it('judges a run by the monotonic clock: a system clock set back does not turn a long run into a repeat', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {}, b: {} }, intensity: 20 });
    await h.started('a', 1);
    await crashAndRestart(h, 'daemon gone', 2);
    h.clock.advance(DEFAULT_BACKOFF.resetAfterMs + 1);
    h.clock.stepWall(-3_600_000); // NTP sets the clock back an hour.
    await crashAndRestart(h, 'daemon gone', 3);
    expect(levels(h, crashes), 'news again, not a quiet repeat').to.deep.equal([ERROR, ERROR]);
    expect(h.tree.health().actors.a!.uptimeMs, 'uptime from the restart').to.equal(0);
  });

  it('ends a crash loop after a crash-free spell even when deliberate restarts come more often than that', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {}, b: {} }, intensity: 20 });
    await h.started('a', 1);
    for (let gen = 2; gen <= 4; gen++) await crashAndRestart(h, 'daemon gone', gen);
    expect(h.tree.health().actors.a!.crashLoop?.crashes).to.equal(3);
    // A proxy closing the event stream, say: the actor asks for a restart more often than the reset time.
    for (let gen = 5; gen <= 7; gen++) {
      h.clock.advance(DEFAULT_BACKOFF.resetAfterMs * 0.4);
      tell(h.cells.a!, { type: 'probe.restart' });
      const scheduled = await h.sink.waitForCount(
        (r) => r.event === 'restart_scheduled' && r.child === 'a' && r.cause === 'requested',
        gen - 4,
      );
      h.clock.advance(Number(scheduled[gen - 5]!.delayMs));
      await h.started('a', gen);
    }
    const recovered = await h.sink.waitFor((r) => r.event === 'actor_recovered', 2000, 'actor_recovered');
    expect(recovered).to.include({ child: 'a', crashes: 3 });
    expect(h.tree.health().actors.a!.crashLoop).to.equal(null);
  });

  it('logs the first crash at error, the first repeat at warn, later repeats at debug, then actor_recovered once it runs again', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {}, b: {} }, intensity: 20 });
    await h.started('a', 1);
    for (let gen = 2; gen <= 5; gen++) await crashAndRestart(h, 'daemon gone', gen);
    expect(levels(h, crashes)).to.deep.equal([ERROR, WARN, DEBUG, DEBUG]);
    expect(levels(h, restarts)).to.deep.equal([WARN, WARN, DEBUG, DEBUG]);
    expect(levels(h, starts)).to.deep.equal([INFO, INFO, INFO, DEBUG, DEBUG]);
    const firstRepeat = h.sink.records.filter(crashes)[1]!;
    expect(firstRepeat.quietUntilRecovered, 'says that further repeats go quiet').to.equal(true);
    expect(firstRepeat.repeats).to.equal(1);
    expect(h.sink.events('actor_recovered')).to.be.empty;

    h.clock.advance(DEFAULT_BACKOFF.resetAfterMs - 1);
    await supervisorBarrier(h);
    expect(h.sink.events('actor_recovered'), 'not before the reset time').to.be.empty;
    h.clock.advance(1);
    const recovered = await h.sink.waitFor((r) => r.event === 'actor_recovered');
    expect(recovered).to.include({ level: INFO, child: 'a', gen: 5, crashes: 4, lastCrash: 'Error: daemon gone' });
    expect(recovered.loopMs).to.be.a('number').and.to.be.greaterThan(0);

    // After it ran past the reset time, the same failure is news again.
    await crashAndRestart(h, 'daemon gone', 6);
    expect(levels(h, crashes).at(-1)).to.equal(ERROR);
    expect(levels(h, restarts).at(-1)).to.equal(WARN);
  });

  it('a different error in the middle of a loop is loud again', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} }, intensity: 20 });
    await h.started('a', 1);
    await crashAndRestart(h, 'daemon gone', 2);
    await crashAndRestart(h, 'daemon gone', 3);
    await crashAndRestart(h, 'daemon gone', 4);
    await crashAndRestart(h, 'disk full', 5);
    await crashAndRestart(h, 'disk full', 6);
    expect(levels(h, crashes)).to.deep.equal([ERROR, WARN, DEBUG, ERROR, WARN]);
  });

  it('chaos kills are never a loop: each one is logged at error', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {} }, intensity: 20 });
    await h.started('a', 1);
    for (let gen = 2; gen <= 4; gen++) {
      tell(h.rootCell, injectCrash('a', 'chaos'));
      const scheduled = await h.sink.waitForCount(restarts, gen - 1);
      h.clock.advance(Number(scheduled[gen - 2]!.delayMs));
      await h.started('a', gen);
    }
    expect(levels(h, crashes)).to.deep.equal([ERROR, ERROR, ERROR]);
    expect(levels(h, restarts)).to.deep.equal([WARN, WARN, WARN]);
  });

  it('no actor_recovered when the loop ends in another crash before the reset time', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {}, b: {} }, intensity: 20 });
    await h.started('a', 1);
    await crashAndRestart(h, 'daemon gone', 2);
    await crashAndRestart(h, 'daemon gone', 3);
    h.clock.advance(DEFAULT_BACKOFF.resetAfterMs / 2);
    await crashAndRestart(h, 'daemon gone', 4);
    // Generation 3's reset time has passed, but generation 4 (whose start replaced that timer) has not run as long.
    h.clock.advance(DEFAULT_BACKOFF.resetAfterMs / 2);
    await supervisorBarrier(h);
    expect(h.sink.events('actor_recovered')).to.be.empty;
    h.clock.advance(DEFAULT_BACKOFF.resetAfterMs);
    const recovered = await h.sink.waitFor((r) => r.event === 'actor_recovered');
    expect(recovered).to.include({ gen: 4, crashes: 3 });
  });

  it('a chaos kill in the middle of a real crash loop neither ends nor restarts its story', async () => {
    h = startProbeTree({ strategy: 'one_for_one', probes: { a: {}, b: {} }, intensity: 20 });
    await h.started('a', 1);
    for (let gen = 2; gen <= 4; gen++) await crashAndRestart(h, 'daemon gone', gen);
    tell(h.rootCell, injectCrash('a', 'chaos'));
    const scheduled = await h.sink.waitForCount(restarts, 4);
    h.clock.advance(Number(scheduled[3]!.delayMs));
    await h.started('a', 5);
    expect(h.tree.health().actors.a!.crashLoop?.crashes, 'still the loop of three').to.equal(3);
    await crashAndRestart(h, 'daemon gone', 6);
    expect(h.tree.health().actors.a!.crashLoop?.crashes, 'the loop goes on').to.equal(4);
    expect(levels(h, crashes), 'the chaos kill loud, the loop quiet as before').to.deep.equal([
      ERROR,
      WARN,
      DEBUG,
      ERROR,
      DEBUG,
    ]);
  });
});
