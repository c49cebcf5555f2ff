/**
 * Restart delay after a crash, as Akka's restartWithBackoff computes it:
 * min(maxMs, minMs * 2^attempt) * (1 + random * randomFactor). Pure: the random number is an argument.
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
