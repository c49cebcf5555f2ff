/**
 * Delays of the poll loops (design.md §4.6): the period with ±10 % jitter when healthy, and capped exponential
 * backoff with jitter after failures. A master's Retry-After (already capped by the client at 60 s) is a floor:
 * never sooner than it says, but a master that keeps answering "Retry-After: 0" still gets the backoff.
 */
export function jittered(periodMs: number, random: number, spread = 0.1): number {
  return Math.max(1, Math.round(periodMs * (1 + (random * 2 - 1) * spread)));
}

export function failureDelay(failures: number, baseMs: number, capMs: number, random: number, retryAfterMs: number | null = null): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  // Full jitter on the upper half keeps a fleet of agents from retrying in lock-step after a master outage.
  const backoff = Math.max(1, Math.round(exp / 2 + (exp / 2) * random));
  return retryAfterMs === null ? backoff : Math.max(retryAfterMs, backoff);
}
