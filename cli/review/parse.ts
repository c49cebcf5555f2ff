/**
 * Reading agent logs for `review`: bunyan JSON lines in, runs out. Lines that are not bunyan JSON (docker's own
 * prefixes, stack traces, other programs) are counted and skipped, never fatal. A new run starts at each
 * `agent_starting` record, or when the pid changes (logs of several restarts concatenated).
 */
export interface LogRecord {
  readonly time: number;
  readonly level: number;
  readonly msg: string;
  readonly pid: number | null;
  readonly event: string | null;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface Run {
  readonly index: number;
  readonly pid: number | null;
  readonly records: readonly LogRecord[];
  readonly start: number;
  readonly end: number;
}

export interface ParsedLog {
  readonly runs: readonly Run[];
  readonly skipped: number;
  readonly total: number;
}

export function parseLine(line: string): LogRecord | null {
  const start = line.indexOf('{');
  if (start < 0) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(line.slice(start));
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r.time !== 'string' || typeof r.level !== 'number' || r.v !== 0) return null;
  const time = Date.parse(r.time);
  if (Number.isNaN(time)) return null;
  return {
    time,
    level: r.level,
    msg: typeof r.msg === 'string' ? r.msg : '',
    pid: typeof r.pid === 'number' ? r.pid : null,
    event: typeof r.event === 'string' ? r.event : null,
    fields: r,
  };
}

export function parseLog(text: string): ParsedLog {
  const runs: LogRecord[][] = [];
  let skipped = 0;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    total++;
    const rec = parseLine(line);
    if (!rec) {
      skipped++;
      continue;
    }
    const current = runs.at(-1);
    const lastPid = current?.at(-1)?.pid ?? null;
    if (!current || rec.event === 'agent_starting' || (rec.pid !== null && lastPid !== null && rec.pid !== lastPid))
      runs.push([rec]);
    else current.push(rec);
  }
  return {
    runs: runs.map((records, index) => ({
      index,
      pid: records[0]?.pid ?? null,
      records,
      start: records[0]?.time ?? 0,
      end: records.at(-1)?.time ?? 0,
    })),
    skipped,
    total,
  };
}
