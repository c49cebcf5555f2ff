import type { Clock, TimerHandle } from '../../supervisor/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when a test says so. Timers fire in due order (ties in creation order), and a timer
 * scheduled by a firing timer within the advanced span fires in the same advance, as it would in real time.
 */
export class ManualClock implements Clock {
  private current: number;
  /** How far the wall clock (now) has been set away from the monotonic one. */
  private wallOffset = 0;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 15, 9, 30, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current + this.wallOffset;
  }

  /** Timers and `nextDue` run on this one. */
  monotonic(): number {
    return this.current;
  }

  /** Sets the wall clock forward (or back, negative) without time passing, as NTP or `date -s` does. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const entry: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Number of timers not yet fired or cancelled. */
  get activeTimers(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }

  /** The due time of the next live timer, if any. */
  nextDue(): number | undefined {
    const live = this.pending.filter((p) => !p.cancelled).sort((a, b) => a.at - b.at || a.seq - b.seq);
    return live[0]?.at;
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const live = this.pending
        .filter((p) => !p.cancelled && p.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = live[0];
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.pending = this.pending.filter((p) => !p.cancelled);
    this.current = target;
  }

  /**
   * Moves the clock by `ms`, stopping at each due timer and awaiting `settle` (an actor driver handling what the
   * timer sent, which may set new timers) before going on, and once more at the end.
   */
  async advanceSettling(ms: number, settle: () => Promise<void>): Promise<void> {
    const target = this.current + ms;
    for (let due = this.nextDue(); due !== undefined && due <= target; due = this.nextDue()) {
      this.advance(due - this.current);
      await settle();
    }
    this.advance(target - this.current);
    await settle();
  }
}
