/**
 * Delays of the poll loops (design.md §4.6): the period with ±10 % jitter when healthy, and capped exponential
 * backoff with jitter after failures, where a master's Retry-After wins (already capped by the client).
 */
export function jittered(periodMs: number, random: number, spread = 0.1): number {
  return Math.max(1, Math.round(periodMs * (1 + (random * 2 - 1) * spread)));
}

export function failureDelay(failures: number, baseMs: number, capMs: number, random: number, retryAfterMs: number | null = null): number {
  // A Retry-After of 0 (or a date in the past) must not turn into a hot loop.
  if (retryAfterMs !== null) return Math.max(retryAfterMs, baseMs);
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  // Full jitter on the upper half keeps a fleet of agents from retrying in lock-step after a master outage.
  return Math.max(1, Math.round(exp / 2 + (exp / 2) * random));
}
