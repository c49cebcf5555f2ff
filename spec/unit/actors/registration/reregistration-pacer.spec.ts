import { expect } from 'chai';
import {
  decideReregistration,
  LOOP_CAP_MS,
  type ReregistrationPacer,
} from '../../../../actors/registration/reregistration-pacer.js';

const SETTINGS = { minIntervalMs: 5000, retryCapMs: 60_000 };

/**
 * A master that refuses something right after every registration: the trigger comes `triggerAfterMs` after each
 * registration, is deferred as long as the pacer says, then acted on; registering takes no time. Returns the gaps
 * between re-registrations.
 */
function loop(cause: 'commands_not_found' | 'forbidden', rounds: number, triggerAfterMs = 1000): number[] {
  const pacer: ReregistrationPacer = { lastActedAt: null, streak: 0 };
  let registeredAt = 0;
  const acted: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let now = registeredAt + triggerAfterMs;
    let d = decideReregistration(pacer, cause, now, now - registeredAt, SETTINGS);
    if (!d.act) {
      now += d.delayMs;
      d = decideReregistration(pacer, cause, now, now - registeredAt, SETTINGS);
    }
    expect(d.act, `round ${i}: acted after its delay`).to.equal(true);
    acted.push(now);
    registeredAt = now;
  }
  return acted.slice(1).map((t, i) => t - acted[i]!);
}

describe('re-registration pacing (docs/protocol.md §3.4)', () => {
  it('a refusal after every registration: the interval doubles from 5 s to fifteen minutes, not a minute forever', () => {
    const gaps = loop('commands_not_found', 12);
    expect(gaps.slice(0, 8)).to.deep.equal([10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, LOOP_CAP_MS]);
    expect(gaps.slice(8)).to.deep.equal([LOOP_CAP_MS, LOOP_CAP_MS, LOOP_CAP_MS]);
    const perDay = (24 * 3600_000) / LOOP_CAP_MS;
    expect(perDay, 'at most this many a day once the loop is established').to.equal(96);
  });

  it('a 403 waits at least the register-retry interval from the start', () => {
    expect(loop('forbidden', 6)).to.deep.equal([60_000, 60_000, 60_000, 80_000, 160_000]);
  });

  it('a trigger after a quiet spell is acted on at once and starts the count again', () => {
    const pacer: ReregistrationPacer = { lastActedAt: null, streak: 0 };
    for (let i = 0; i < 6; i++) pacer.streak++;
    pacer.lastActedAt = 0;
    // Quiet for twice the interval the streak had reached (5 s × 2^6 = 320 s): the loop is over.
    const later = 2 * 320_000 + 1;
    expect(decideReregistration(pacer, 'registration_required', later, later, SETTINGS)).to.deep.equal({ act: true });
    expect(pacer.streak, 'counted afresh').to.equal(1);
  });

  it('a trigger right after a registration is deferred, not dropped', () => {
    const pacer: ReregistrationPacer = { lastActedAt: null, streak: 0 };
    expect(decideReregistration(pacer, 'stale_sequence', 1000, 1000, SETTINGS)).to.deep.equal({
      act: false,
      delayMs: 4000,
    });
    expect(pacer.streak, 'nothing counted for a deferral').to.equal(0);
  });
});
