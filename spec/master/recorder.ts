/**
 * The request log and its waiters. A request is logged once its outcome is known (reply written, or dropped),
 * so a waiter sees final statuses; the array stays in arrival order by `seq` even when a slow reply finishes late.
 */
import type { RecordedRequest } from './types.js';

const DEFAULT_TIMEOUT_MS = 5000;

interface Waiter {
  pred: (r: RecordedRequest) => boolean;
  count: number;
  resolve: (rs: RecordedRequest[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class RequestLog {
  readonly requests: RecordedRequest[] = [];
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  add(r: RecordedRequest): void {
    let i = this.requests.length;
    while (i > 0 && this.requests[i - 1]!.seq > r.seq) i -= 1;
    this.requests.splice(i, 0, r);
    for (const w of [...this.waiters]) this.check(w);
  }

  waitForCount(
    pred: (r: RecordedRequest) => boolean,
    count: number,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    what?: string,
  ): Promise<RecordedRequest[]> {
    return new Promise((resolve, reject) => {
      const label = what ?? `${count} matching request(s)`;
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.requests.filter(safe(pred)).length;
        reject(
          new Error(
            `test master: timed out after ${timeoutMs} ms waiting for ${label} (${seen}/${count} matched); ${this.summary()}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = { pred, count, resolve, reject, timer };
      this.waiters.add(waiter);
      if (this.check(waiter)) return;
      if (this.closed)
        this.fail(waiter, new Error(`test master: stopped while waiting for ${label}; ${this.summary()}`));
    });
  }

  /** Pending waits fail at once rather than running into their timeouts; later waits see only the final log. */
  close(): void {
    this.closed = true;
    for (const w of [...this.waiters])
      this.fail(w, new Error(`test master: stopped while a wait was pending; ${this.summary()}`));
  }

  /** The last few requests, for failure messages. Never the bodies: they hold keys and tokens. */
  summary(): string {
    const last = this.requests.slice(-8).map((r) => `#${r.seq} ${r.method} ${r.path} → ${r.status}`);
    return last.length === 0 ? 'no requests received' : `last requests: ${last.join(', ')}`;
  }

  private check(w: Waiter): boolean {
    let matches: RecordedRequest[];
    try {
      matches = this.requests.filter(w.pred);
    } catch (err) {
      this.fail(w, err instanceof Error ? err : new Error(String(err)));
      return true;
    }
    if (matches.length < w.count) return false;
    clearTimeout(w.timer);
    this.waiters.delete(w);
    w.resolve(matches.slice(0, w.count));
    return true;
  }

  private fail(w: Waiter, err: Error): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
    w.reject(err);
  }
}

function safe(pred: (r: RecordedRequest) => boolean): (r: RecordedRequest) => boolean {
  return (r) => {
    try {
      return pred(r);
    } catch {
      return false;
    }
  };
}
