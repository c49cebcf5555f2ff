/**
 * The one rule for a condition that persists (a revoked key, a master that is down, a read-only volume, a full
 * outbox): loud when it starts or changes kind, at debug while the same kind lasts, so the log stays a health
 * record instead of a wall of repeats. The caller keeps the returned kind (null once the condition is over) in its
 * own state. The runtime's crash-loop story (supervisor/crash-loop.ts) is the one other rule: it also announces
 * the first repeat.
 */
import type { Logger } from './logger.js';

export type LoudLevel = 'info' | 'warn' | 'error';

/** The level for `current` after `previous` (null: the condition was not on). */
export function loudLevel(previous: string | null, current: string, loud: LoudLevel): LoudLevel | 'debug' {
  return previous === current ? 'debug' : loud;
}

/** Logs `msg` at `loud` or at debug by the rule above; returns `current`, the kind to keep. */
export function loudOnce(
  log: Logger,
  previous: string | null,
  current: string,
  loud: LoudLevel,
  fields: Record<string, unknown>,
  msg: string,
): string {
  log[loudLevel(previous, current, loud)](fields, msg);
  return current;
}
