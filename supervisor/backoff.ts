/**
 * One backoff formula for the whole agent, Akka's restartWithBackoff: min(maxMs, minMs * 2^attempt) *
 * (1 + random * randomFactor). Restarts after a crash use it directly; poll loops (`failureDelay`) use it with the
 * jitter in the upper half of each step. Pure: the random number is an argument.
 */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
  randomFactor: number;
  /** After this much uptime the next crash starts again from attempt 0. */
  resetAfterMs: number;
}

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: number): number {
  const exp = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(attempt, 52));
  return Math.round(exp * (1 + random * policy.randomFactor));
}

/** The attempt number to use for a crash after `uptimeMs` of running, given the previous attempt count. */
export function nextAttempt(previous: number, uptimeMs: number, policy: BackoffPolicy): number {
  return uptimeMs >= policy.resetAfterMs ? 0 : previous;
}

/** A poll loop's period with ±`spread` jitter, so that a fleet of agents does not poll in lock-step. */
export function jittered(periodMs: number, random: number, spread = 0.1): number {
  return Math.max(1, Math.round(periodMs * (1 + (random * 2 - 1) * spread)));
}

/**
 * A poll loop's delay after `failures` failures in a row: exponential from `baseMs`, capped at `capMs`, drawn from
 * the upper half of each step (half the step doubled by the jitter). A master's Retry-After is a floor: never
 * sooner than it says, but a master that keeps answering "Retry-After: 0" still gets the backoff.
 */
export function failureDelay(
  failures: number,
  baseMs: number,
  capMs: number,
  random: number,
  retryAfterMs: number | null = null,
): number {
  const halfStep: BackoffPolicy = { minMs: baseMs / 2, maxMs: capMs / 2, randomFactor: 1, resetAfterMs: 0 };
  const backoff = Math.max(1, backoffDelay(Math.max(failures - 1, 0), halfStep, random));
  return retryAfterMs === null ? backoff : Math.max(retryAfterMs, backoff);
}
