/**
 * Time as a dependency. Every timer and every "now" of the runtime and its actors goes through a Clock so that
 * backoff, intensity windows and watchdogs can be tested deterministically without faking Node's own timers, which
 * would also freeze nact's setImmediate-driven mailboxes.
 */
export interface TimerHandle {
  readonly cancel: () => void;
}

export interface Clock {
  /**
   * Milliseconds since the epoch: the time to show and send (timestamps) and to compare with other systems'
   * clocks. It jumps when the system time is set (NTP corrections, a NAS that boots with a wrong clock).
   */
  now(): number;
  /**
   * Milliseconds from an arbitrary origin, never set back or forward: for every duration, window and deadline, so
   * that a clock step neither makes a stale contact look fresh nor keeps a backoff from resetting.
   */
  monotonic(): number;
  /** Calls `fn` once after `ms`; the returned handle cancels it. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** Node's setTimeout fires at once for delays of 2^31 ms or more; clamp so that a huge backoff stays huge. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    return {
      cancel: () => {
        clearTimeout(handle);
      },
    };
  },
};

/**
 * Whether `work` settles within `ms` on `clock`: true when it resolves in time, false when the time runs out first
 * (it runs on). A rejection that comes first rejects; a later one is absorbed here.
 */
export async function settlesWithin(work: Promise<unknown>, clock: Clock, ms: number): Promise<boolean> {
  let timer: TimerHandle | undefined;
  try {
    return await Promise.race([
      work.then(() => true),
      new Promise<false>((resolve) => {
        timer = clock.setTimeout(() => {
          resolve(false);
        }, ms);
      }),
    ]);
  } finally {
    timer?.cancel();
  }
}
