import { expect } from 'chai';
import type { Clock } from '../../../supervisor/clock.js';
import { LagProbe } from '../../../agent/lag-probe.js';

/** A base clock whose timers the test fires by hand, at whatever time it likes. */
class HandClock implements Clock {
  current = 1000;
  readonly timers: { fn: () => void; cancelled: boolean }[] = [];
  now(): number {
    return this.current;
  }
  monotonic(): number {
    return this.current;
  }
  setTimeout(fn: () => void, _ms: number): { cancel: () => void } {
    const t = { fn, cancelled: false };
    this.timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }
  fire(index: number, at: number): void {
    const t = this.timers[index];
    if (!t || t.cancelled) throw new Error(`HandClock: no live timer #${index}`);
    this.current = at;
    t.fn();
  }
}

describe('LagProbe', () => {
  it('records how late each wrapped timer fires, and still runs the callback', () => {
    const base = new HandClock();
    const probe = new LagProbe();
    const clock = probe.wrap(base);
    const ran: string[] = [];
    clock.setTimeout(() => {
      ran.push('a');
    }, 100); // due 1100
    clock.setTimeout(() => {
      ran.push('b');
    }, 200); // due 1200
    clock.setTimeout(() => {
      ran.push('c');
    }, 300); // due 1300
    base.fire(0, 1102);
    base.fire(1, 1240);
    base.fire(2, 1301);
    expect(ran).to.deep.equal(['a', 'b', 'c']);
    expect(probe.snapshot()).to.deep.equal({ p50: 2, max: 40, samples: 3 });
  });

  it('counts an early firing as no lag, and a cancelled timer not at all', () => {
    const base = new HandClock();
    const probe = new LagProbe();
    const clock = probe.wrap(base);
    clock.setTimeout(() => undefined, 50);
    const h = clock.setTimeout(() => undefined, 10);
    h.cancel();
    base.fire(0, 1049);
    expect(() => {
      base.fire(1, 1100);
    }).to.throw(/no live timer/);
    expect(probe.snapshot()).to.deep.equal({ p50: 0, max: 0, samples: 1 });
  });

  it('gives the median of a bounded window of recent firings, and the maximum since start', () => {
    const probe = new LagProbe(4);
    expect(probe.snapshot()).to.deep.equal({ p50: null, max: 0, samples: 0 });
    for (const lag of [500, 1, 2, 3, 4]) probe.record(lag);
    // 500 has left the window of 4 but stays the maximum.
    expect(probe.snapshot()).to.deep.equal({ p50: 2, max: 500, samples: 5 });
  });
});
