import { expect } from 'chai';
import { backoffDelay, failureDelay, jittered, nextAttempt, type BackoffPolicy } from '../../../supervisor/backoff.js';
import { IntensityWindow } from '../../../supervisor/intensity.js';

describe('supervisor/backoff', () => {
  const policy: BackoffPolicy = { minMs: 1000, maxMs: 60_000, randomFactor: 0.2, resetAfterMs: 30_000 };
  const table: [attempt: number, random: number, expected: number][] = [
    [0, 0, 1000],
    [1, 0, 2000],
    [2, 0, 4000],
    [5, 0, 32_000],
    [6, 0, 60_000],
    [60, 0, 60_000],
    [0, 1, 1200],
    [3, 0.5, 8800],
    [6, 1, 72_000],
    [1000, 0.25, 63_000],
  ];
  for (const [attempt, random, expected] of table) {
    it(`attempt ${attempt}, random ${random} → ${expected} ms`, () => {
      expect(backoffDelay(attempt, policy, random)).to.equal(expected);
    });
  }

  it('restarts from attempt 0 after resetAfterMs of uptime, not before', () => {
    expect(nextAttempt(4, 29_999, policy)).to.equal(4);
    expect(nextAttempt(4, 30_000, policy)).to.equal(0);
  });
});

describe('supervisor/backoff: poll loops', () => {
  it('takes Retry-After as a floor: never sooner, but a master that keeps saying 0 still gets the backoff', () => {
    expect(failureDelay(1, 1000, 60_000, 0.5, 5000), 'later than the backoff: Retry-After').to.equal(5000);
    expect(failureDelay(1, 1000, 60_000, 0.5, 0), 'the first retry').to.equal(750);
    expect(failureDelay(7, 1000, 60_000, 0.5, 0), 'the seventh: backed off').to.equal(45_000);
    expect(failureDelay(7, 1000, 4000, 0.5, 30_000), 'over the cap: Retry-After still holds').to.equal(30_000);
  });

  it('backs off exponentially with jitter in the upper half, capped', () => {
    expect(failureDelay(1, 1000, 60_000, 0)).to.equal(500);
    expect(failureDelay(3, 1000, 60_000, 1)).to.equal(4000);
    expect(failureDelay(30, 1000, 60_000, 1)).to.equal(60_000);
    expect(jittered(30_000, 0.5)).to.equal(30_000);
    expect(jittered(30_000, 1)).to.equal(33_000);
  });
});

describe('supervisor/intensity', () => {
  it('allows `intensity` restarts within the period and reports the next one as exceeded', () => {
    const w = new IntensityWindow({ intensity: 3, periodMs: 1000 });
    expect([0, 100, 200].map((t) => w.record(t))).to.deep.equal([false, false, false]);
    expect(w.record(300)).to.equal(true);
  });

  it('forgets restarts older than the period (sliding window)', () => {
    const w = new IntensityWindow({ intensity: 2, periodMs: 1000 });
    expect([0, 500, 1001, 1502, 2003].map((t) => w.record(t))).to.deep.equal([false, false, false, false, false]);
    expect(w.count(2003)).to.equal(2);
    expect(w.record(2004)).to.equal(true);
  });

  it('with intensity 0 the first restart already exceeds', () => {
    expect(new IntensityWindow({ intensity: 0, periodMs: 1000 }).record(0)).to.equal(true);
  });
});
