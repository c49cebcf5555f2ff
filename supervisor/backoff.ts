/**
 * One backoff step for the whole runtime, min(maxMs, minMs * 2^attempt), with two ways to jitter it: Akka's
 * restartWithBackoff for restarts after a crash, step * (1 + random * randomFactor), and the upper half of the step
 * for retry loops (`failureDelay`). Pure: the random number is an argument.
 */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
  randomFactor: number;
  /** After this much uptime the next crash starts again from attempt 0. */
  resetAfterMs: number;
}

/** The un-jittered delay of `attempt` (0-based): doubling from `minMs`, capped at `maxMs`. */
export function backoffStep(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt, 0), 52));
}

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: number): number {
  return Math.round(backoffStep(attempt, policy.minMs, policy.maxMs) * (1 + random * policy.randomFactor));
}

/** The attempt number to use for a crash after `uptimeMs` of running, given the previous attempt count. */
export function nextAttempt(previous: number, uptimeMs: number, policy: BackoffPolicy): number {
  return uptimeMs >= policy.resetAfterMs ? 0 : previous;
}

/** A loop's period with ±`spread` jitter, so that many processes do not poll a server in lock-step. */
export function jittered(periodMs: number, random: number, spread = 0.1): number {
  return Math.max(1, Math.round(periodMs * (1 + (random * 2 - 1) * spread)));
}

/**
 * A retry loop's delay after `failures` failures in a row: the step from `baseMs` capped at `capMs`, drawn from its
 * upper half. A server's Retry-After is a floor: never sooner than it says, but a server that keeps answering
 * "Retry-After: 0" still gets the backoff.
 */
export function failureDelay(
  failures: number,
  baseMs: number,
  capMs: number,
  random: number,
  retryAfterMs: number | null = null,
): number {
  const step = backoffStep(failures - 1, baseMs, capMs);
  const backoff = Math.max(1, Math.round(step / 2 + (step / 2) * random));
  return retryAfterMs === null ? backoff : Math.max(retryAfterMs, backoff);
}
