import { createLogger, type Logger } from '../../log/logger.js';
import { Redactor } from '../../log/redact.js';

export type LogRecord = Record<string, unknown> & { level: number; msg: string; event?: string };

/** Captures the agent's log lines, exactly as written (after redaction), and lets a spec await one. */
export class LogSink {
  readonly lines: string[] = [];
  readonly records: LogRecord[] = [];
  private waiters: { pred: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];
  readonly log: Logger;

  constructor(readonly redactor = new Redactor()) {
    this.log = createLogger({
      level: 'trace',
      redactor,
      write: (line) => {
        this.push(line);
      },
    });
  }

  events(name: string): LogRecord[] {
    return this.records.filter((r) => r.event === name);
  }

  /** Resolves with the first record (already written or future) matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (r: LogRecord) => boolean, timeoutMs = 5000, what = 'log record'): Promise<LogRecord> {
    const found = this.records.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (r: LogRecord) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; last events: ${this.records
              .slice(-8)
              .map((r) => r.event ?? r.msg)
              .join(', ')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Waits until `count` records in all match. */
  async waitForCount(pred: (r: LogRecord) => boolean, count: number, timeoutMs = 5000): Promise<LogRecord[]> {
    let seen = this.records.filter(pred).length;
    if (seen < count) {
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          pred: (r: LogRecord) => pred(r) && ++seen >= count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} records (saw ${seen})`));
        }, timeoutMs);
        this.waiters.push(waiter);
      });
    }
    return this.records.filter(pred);
  }

  private push(line: string): void {
    this.lines.push(line);
    const record = JSON.parse(line) as LogRecord;
    this.records.push(record);
    for (const w of [...this.waiters]) {
      if (w.pred(record)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(record);
      }
    }
  }
}

/** Lets nact (setImmediate-driven) run every message that is ready, a bounded number of turns. */
export async function drain(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++)
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
}

/** The last records of a run, one line each, to print when a spec fails. */
export function tail(source: LogSink | readonly Record<string, unknown>[], count = 40): string {
  const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  const records = source instanceof LogSink ? source.records : source;
  return records
    .slice(-count)
    .map((r) => `${str(r.time)} ${str(r.actor) || '-'} ${str(r.event)} ${str(r.msg)} ${str(r.reason)}`)
    .join('\n');
}
