/**
 * When a worker's trigger (a 404 on commands, a 409 on events, a 403) may make Registration re-register
 * (docs/protocol.md §3.4). Each re-registration restarts every worker, so a master that refuses something right after
 * every new registration (a record it cannot keep, a rule in front of /commands only) must not get one every
 * minute forever: the interval doubles per trigger in a row, up to LOOP_CAP_MS, and a quiet spell resets it.
 */
import type { ReregisterCause } from '../../domain/identity.js';

/** Survives Registration's own restarts (re-registering is one): what its incarnations hand on. */
export interface ReregistrationPacer {
  lastActedAt: number | null;
  streak: number;
}

export const newPacer = (): ReregistrationPacer => ({ lastActedAt: null, streak: 0 });

export interface PacerSettings {
  /** The first interval after a registration (no re-registration storms). */
  minIntervalMs: number;
  /** REGISTER_RETRY_SECONDS: the least interval for a 403 (§3.4: at most once per register-retry interval). */
  retryCapMs: number;
}

/** Fifteen minutes: a loop the master keeps causing is still retried four times an hour, not sixty. */
export const LOOP_CAP_MS = 15 * 60_000;

/** How long must pass since the last re-registration (or registration) before acting on a trigger, given the streak. */
export function reregisterIntervalMs(streak: number, cause: ReregisterCause, s: PacerSettings): number {
  const doubled = s.minIntervalMs * 2 ** Math.min(streak, 30);
  return Math.min(LOOP_CAP_MS, Math.max(cause === 'forbidden' ? s.retryCapMs : 0, doubled));
}

/**
 * Decides about one trigger: act now (and count it), or wait `delayMs`. `sinceRegisteredMs` is the time since the
 * current identity was obtained (null before any).
 */
export function decideReregistration(
  pacer: ReregistrationPacer,
  cause: ReregisterCause,
  now: number,
  sinceRegisteredMs: number | null,
  s: PacerSettings,
): { act: true } | { act: false; delayMs: number } {
  const sinceActed = pacer.lastActedAt === null ? Infinity : now - pacer.lastActedAt;
  // Quiet for twice the interval the streak had reached (at least twice the retry cap): the loop is over.
  if (sinceActed > 2 * Math.max(s.retryCapMs, reregisterIntervalMs(pacer.streak, cause, s))) pacer.streak = 0;
  const minMs = reregisterIntervalMs(pacer.streak, cause, s);
  const sinceMs = Math.min(sinceActed, sinceRegisteredMs ?? Infinity);
  if (sinceMs < minMs) return { act: false, delayMs: minMs - sinceMs };
  pacer.lastActedAt = now;
  pacer.streak++;
  return { act: true };
}
