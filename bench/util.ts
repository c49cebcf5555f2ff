/**
 * Small shared pieces of the benchmark: statistics, bounded waiting against one global deadline (the whole run
 * must end by itself), and progress lines on stderr (stdout carries only the results).
 */

export const pause = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, Math.max(0, ms));
  });

const benchStarted = Date.now();

/** Progress for the person watching; stderr so that `npm run bench > out.json` still yields clean output. */
export function say(text: string): void {
  process.stderr.write(`[bench ${((Date.now() - benchStarted) / 1000).toFixed(1).padStart(6)}s] ${text}\n`);
}

/**
 * One deadline for the whole run. Every wait asks it for its bound, so a scenario that hangs eats into the
 * budget of the later ones instead of pushing the run past its limit.
 */
export class Deadline {
  readonly at: number;
  constructor(budgetMs: number) {
    this.at = Date.now() + budgetMs;
  }
  remaining(): number {
    return Math.max(0, this.at - Date.now());
  }
  /** `ms`, or less when the run's deadline is nearer. */
  bound(ms: number): number {
    return Math.min(ms, this.remaining());
  }
  check(what: string): void {
    if (this.remaining() <= 0) throw new Error(`run deadline reached before ${what}`);
  }
}

/**
 * Polls `probe` until it yields a value (anything but undefined/null/false) or `timeoutMs` passes; returns
 * null on timeout rather than throwing, because a missed wait is a measurement (e.g. "never delivered").
 */
export async function waitUntil<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  intervalMs = 10,
): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch {
      // A probe that fails (daemon still coming up, container not yet there) is just "not yet".
    }
    if (Date.now() >= end) return null;
    await pause(intervalMs);
  }
}

export function median(xs: readonly number[]): number | null {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (no interpolation: every reported figure is one that was actually measured). */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

export function max(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : Math.max(...xs);
}

export const round = (x: number | null, digits = 1): number | null => (x === null ? null : Number(x.toFixed(digits)));

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
