/**
 * A condition that persists (a revoked key, a master that is down) is logged loudly once, when it starts or
 * changes kind, and at debug while it lasts: the log stays a health record instead of a wall of repeats.
 */
import type { Logger } from './logger.js';

export function logOnChange(
  log: Logger,
  previous: string | null,
  current: string,
  level: 'warn' | 'error',
  fields: Record<string, unknown>,
  text: string,
): void {
  if (previous === current) log.debug(fields, text);
  else log[level](fields, text);
}
