/**
 * Time as a dependency. Every timer and every "now" in the agent goes through a Clock so that backoff, intensity
 * windows and watchdogs can be tested deterministically (design.md §4.5) without faking Node's own timers, which
 * would also freeze nact's setImmediate-driven mailboxes.
 */
export interface TimerHandle {
  readonly cancel: () => void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned handle cancels it. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** Node's setTimeout fires at once for delays of 2^31 ms or more; clamp so that a huge backoff stays huge. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    return { cancel: () => { clearTimeout(handle); } };
  },
};
