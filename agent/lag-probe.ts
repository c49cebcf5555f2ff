/**
 * Event-loop lag measured on the agent's own timers: how late each one fires. It replaces perf_hooks'
 * monitorEventLoopDelay, whose sampling timer woke the idle process twice a second (the largest share of its idle
 * wake-ups) and whose histogram held ~360 KB. Every actor timer and request timeout already passes through the
 * Clock, so wrapping it costs one subtraction per firing and no wake-up of its own.
 */
import { MAX_TIMER_MS, type Clock } from '../supervisor/clock.js';

export interface LagSnapshot {
  /** Median lateness of the most recent timer firings, in ms; null before the first one. */
  p50: number | null;
  /** The largest lateness seen since start, in ms. */
  max: number;
  samples: number;
}

export class LagProbe {
  private readonly recent: number[] = [];
  private nextSlot = 0;
  private maxMs = 0;
  private count = 0;

  constructor(private readonly window = 256) {}

  record(lagMs: number): void {
    const lag = Math.max(0, lagMs);
    if (this.recent.length < this.window) this.recent.push(lag);
    else this.recent[this.nextSlot] = lag;
    this.nextSlot = (this.nextSlot + 1) % this.window;
    this.maxMs = Math.max(this.maxMs, lag);
    this.count++;
  }

  snapshot(): LagSnapshot {
    if (this.recent.length === 0) return { p50: null, max: this.maxMs, samples: 0 };
    const sorted = [...this.recent].sort((a, b) => a - b);
    return { p50: sorted[Math.floor((sorted.length - 1) / 2)] ?? null, max: this.maxMs, samples: this.count };
  }

  /** A clock like `base` whose timers report how late they fire. */
  wrap(base: Clock): Clock {
    return {
      now: () => base.now(),
      monotonic: () => base.monotonic(),
      setTimeout: (fn, ms) => {
        const due = base.monotonic() + Math.min(Math.max(0, ms), MAX_TIMER_MS);
        return base.setTimeout(() => {
          this.record(base.monotonic() - due);
          fn();
        }, ms);
      },
    };
  }
}
