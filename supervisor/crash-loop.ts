/**
 * A crash loop is one failure repeating: an actor whose external service is down crashes every backoff period with
 * the same error, for as long as the service stays away. Logging each round at error level would bury the log
 * under identical lines, so the loop is told as a story instead:
 * the first crash at error, the first repeat at warn saying that repeats go quiet, the repeats at debug, and one
 * `actor_recovered` at info once the actor has run for its backoff reset time again.
 */
import type { CellView } from './actor-ref.js';

export const crashReason = (err: Error): string => `${err.name}: ${err.message}`;

/**
 * Whether a crash repeats the actor's previous one: same error text, same message, and the incarnation that
 * crashed had not yet run long enough to reset its backoff (the same rule that keeps the backoff growing).
 * A chaos kill never does: each is a deliberate event its tester wants to see.
 */
export function repeatsLastCrash(cell: CellView, err: Error, msgType: string | undefined, now: number): boolean {
  const last = cell.lastFailure;
  if (
    err.name === 'InjectedCrash' ||
    last === undefined ||
    last.reason !== crashReason(err) ||
    last.msgType !== msgType
  )
    return false;
  return cell.startedAt !== undefined && now - cell.startedAt < cell.resetAfterMs;
}

/** The level of the lines about one crash of a loop: loud for the first and the first repeat, then quiet. */
export function crashLoopLevel(
  repeatCrashes: number,
  loud: 'error' | 'warn' | 'info',
): 'error' | 'warn' | 'info' | 'debug' {
  if (repeatCrashes === 0) return loud;
  if (repeatCrashes === 1) return loud === 'error' ? 'warn' : loud;
  return 'debug';
}
