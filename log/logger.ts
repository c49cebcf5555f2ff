/**
 * One bunyan root logger whose every line passes through the Redactor after serialisation, so no field, nested
 * object or error text can carry a secret out, whatever code logged it. Object-first calls, constant `msg`.
 */
import bunyan from 'bunyan';
import { Redactor } from './redact.js';

export type Logger = bunyan;
export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const MAX_CAUSE_DEPTH = 5;

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
  statusCode?: unknown;
  cause?: SerializedError | string;
}

/** Like bunyan's err serializer, but follows the standard `cause` chain and keeps a few diagnostic fields. */
export function serializeError(err: unknown, depth = 0): SerializedError | string {
  if (!(err instanceof Error)) return typeof err === 'string' ? err : safeStringify(err);
  const out: SerializedError = { name: err.name, message: err.message };
  if (err.stack !== undefined) out.stack = err.stack;
  const extra = err as Error & { code?: unknown; statusCode?: unknown };
  if (extra.code !== undefined) out.code = extra.code;
  if (extra.statusCode !== undefined) out.statusCode = extra.statusCode;
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** JSON.stringify that survives cycles and BigInt, as bunyan's own safe-cycles mode does. */
export function safeStringify(value: unknown): string {
  const seen = new WeakSet();
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v && typeof v === 'object') {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    }) ?? 'undefined'
  );
}

export interface LoggerOptions {
  level: LogLevelName;
  redactor: Redactor;
  /** Where finished lines go; default stdout. */
  write?: (line: string) => void;
  name?: string;
}

export function createLogger(opts: LoggerOptions): Logger {
  const write =
    opts.write ??
    ((line: string) => {
      process.stdout.write(line);
    });
  const stream = {
    write(record: unknown): void {
      write(opts.redactor.redact(safeStringify(record)) + '\n');
    },
  };
  return bunyan.createLogger({
    name: opts.name ?? 'dockflare-agent',
    level: opts.level,
    streams: [{ type: 'raw', stream, level: opts.level }],
    serializers: { err: serializeError },
  });
}
