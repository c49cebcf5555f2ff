/**
 * The durable outbox of container and tunnel events (outbox.json in the data directory). Bounded: on overflow
 * the oldest entry goes, counted, and the Reporter forces a full status report after recovery. Entries keep the
 * sequence number and session they were first sent with, so a retry reuses its number (docs/protocol.md §5.1).
 * Writes are batched by the Reporter (after failures, and on shutdown): a crash can lose only events that the
 * post-restart scan and status report re-derive anyway.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { jsonInteger, jsonObject, jsonRecord } from '../domain/decoded.js';
import type { Clock } from '../supervisor/clock.js';
import type { Logger } from '../log/logger.js';
import { loudOnce } from '../log/loud-once.js';
import type { OutboundEvent } from '../domain/outbound.js';
import { atomicWrite, moveAside, removeStaleTempFiles } from './atomic-write.js';

export const OUTBOX_FILE = 'outbox.json';
/** Far above what one entry takes (a container's id, name, status and its dockflare labels). */
const MAX_ENTRY_BYTES = 64 * 1024;

/** An entry as the outbox shows it: only the outbox's own methods change one. */
export interface OutboxEntry {
  readonly id: string;
  readonly event: OutboundEvent;
  /** The number it was sent with under `session`; kept so that a retry reuses it. */
  readonly seq: number | null;
  readonly session: string | null;
  readonly attempts: number;
}

type StoredEntry = { -readonly [K in keyof OutboxEntry]: OutboxEntry[K] };

const Container = jsonObject({
  id: v.string(),
  name: v.string(),
  status: v.string(),
  labels: jsonRecord(v.string()),
});
const Event = v.variant('type', [
  v.object({ type: v.literal('container_start'), container: Container, timestamp: v.string() }),
  v.object({ type: v.literal('container_stop'), container: Container, timestamp: v.string() }),
  v.object({
    type: v.literal('tunnel_status'),
    status: v.picklist(['running', 'stopped']),
    name: v.nullable(v.string()),
    version: v.nullable(v.string()),
    timestamp: v.string(),
  }),
]);
const FileSchema = jsonObject({
  version: v.literal(1),
  entries: v.array(
    jsonObject({
      id: v.string(),
      event: Event,
      seq: v.nullable(jsonInteger),
      session: v.nullable(v.string()),
      attempts: jsonInteger,
    }),
  ),
  dropped: v.pipe(jsonInteger, v.minValue(0)),
});

/** The v2 sequence counters of one session (docs/protocol.md §5.1). */
export interface SequenceCounters {
  session: string | null;
  event: number;
  report: number;
}

export class Outbox {
  private entries: StoredEntry[] = [];
  /**
   * Kept here, not in the Reporter, so that a Reporter restarted on its own (same session) continues the
   * numbering: starting again at 1 would make every following event stale.
   */
  private readonly counters: SequenceCounters = { session: null, event: 0, report: 0 };
  private droppedTotal = 0;
  private dirty = false;
  /** Whether the file on disk lists events, so that emptying the queue must be written too. */
  private fileHasEntries = false;
  /** A write failed and none has worked since: the same failure every few seconds is not news (debug). */
  private writeFailing = false;

  private constructor(
    private file: string | null,
    readonly capacity: number,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  /** `dir` null keeps the outbox in memory only (data directory not writable). */
  static async open(dir: string | null, capacity: number, log: Logger, clock: Clock): Promise<Outbox> {
    const box = new Outbox(dir === null ? null : path.join(dir, OUTBOX_FILE), capacity, log, clock);
    if (dir !== null) {
      // An interrupted write leaves a temp file holding events; it would stay on the volume for good.
      const removed = await removeStaleTempFiles(dir, [OUTBOX_FILE]).catch(() => []);
      if (removed.length > 0)
        log.warn({ event: 'state_temp_removed', dir, files: removed }, 'stale temp files removed');
    }
    await box.load();
    return box;
  }

  get size(): number {
    return this.entries.length;
  }
  get dropped(): number {
    return this.droppedTotal;
  }
  head(): OutboxEntry | undefined {
    return this.entries[0];
  }

  /** Appends; returns how many old entries had to go to make room. */
  push(event: OutboundEvent): number {
    this.entries.push({ id: randomUUID(), event, seq: null, session: null, attempts: 0 });
    let overflow = 0;
    while (this.entries.length > this.capacity) {
      this.entries.shift();
      overflow++;
    }
    this.droppedTotal += overflow;
    this.dirty = true;
    return overflow;
  }

  /** The head, if it is still the entry `id` (an overflow may have dropped it while it was being sent). */
  headIf(id: string | null): OutboxEntry | undefined {
    const head = this.entries[0];
    return id !== null && head?.id === id ? head : undefined;
  }

  /**
   * The number to send the head with under `session`: the one it already holds there (a retry), or the session's
   * next event number, which the head then keeps.
   */
  numberHead(session: string): number | undefined {
    const head = this.entries[0];
    if (head === undefined) return undefined;
    if (head.session !== session || head.seq === null) {
      head.seq = this.nextEventNumber(session, null);
      head.session = session;
    }
    return head.seq;
  }

  /** Whether the head holds a number under `session`, which must be retried before any new number goes out. */
  headHoldsNumber(session: string): boolean {
    const head = this.entries[0];
    return head !== undefined && head.session === session && head.seq !== null;
  }

  /** An event number of `session` for what is not queued (a heartbeat): `reuse` if a retry, else the next one. */
  nextEventNumber(session: string, reuse: number | null): number {
    const counters = this.countersFor(session);
    const seq = reuse ?? counters.event + 1;
    counters.event = Math.max(counters.event, seq);
    return seq;
  }

  /** A status report number of `session`: `reuse` if a retry, else the next one. */
  nextReportNumber(session: string, reuse: number | null): number {
    const counters = this.countersFor(session);
    const seq = reuse ?? counters.report + 1;
    counters.report = Math.max(counters.report, seq);
    return seq;
  }

  /** The last status report number issued in `session` (to send it again after a failure). */
  lastReportNumber(session: string): number {
    return this.countersFor(session).report;
  }

  /** The master has the head `id`: it leaves the queue. */
  delivered(id: string): boolean {
    return this.removeHead(id);
  }

  /** The master refused the head `id` for good: it leaves the queue and counts as dropped. */
  rejected(id: string): boolean {
    if (!this.removeHead(id)) return false;
    this.droppedTotal++;
    return true;
  }

  /** A send of the head `id` failed in a way worth retrying. */
  attemptFailed(id: string): void {
    const head = this.entries[0];
    if (head?.id !== id) return;
    head.attempts++;
  }

  private removeHead(id: string): boolean {
    if (this.entries[0]?.id !== id) return false;
    this.entries.shift();
    this.dirty = true;
    return true;
  }

  /** The counters of `session`; a new session starts both at 0 (the master resets its side on registration). */
  private countersFor(session: string): SequenceCounters {
    if (this.counters.session !== session) Object.assign(this.counters, { session, event: 0, report: 0 });
    return this.counters;
  }

  /** Whether persist() would write: false lets a caller skip scheduling one (an idle agent's every heartbeat). */
  get needsWrite(): boolean {
    return this.dirty && this.file !== null && (this.entries.length > 0 || this.fileHasEntries);
  }

  async persist(): Promise<void> {
    if (!this.dirty || this.file === null) return;
    // An empty queue over a file that holds nothing to deliver needs no write (and no fsync on the hot path).
    if (this.entries.length === 0 && !this.fileHasEntries) {
      this.dirty = false;
      return;
    }
    const body = JSON.stringify({ version: 1, entries: this.entries, dropped: this.droppedTotal });
    try {
      await atomicWrite(this.file, body);
      this.dirty = false;
      this.fileHasEntries = this.entries.length > 0;
      if (this.writeFailing)
        this.log.info(
          { event: 'outbox_write_recovered', file: this.file, queued: this.entries.length },
          'the outbox is persisted again',
        );
      this.writeFailing = false;
    } catch (err) {
      const fields = { event: 'outbox_write_failed', file: this.file, err, queued: this.entries.length };
      // Events stay in memory and are written with the next write that works.
      loudOnce(this.log, this.writeFailing ? 'failing' : null, 'failing', 'error', fields, 'outbox write failed');
      this.writeFailing = true;
    }
  }

  private async load(): Promise<void> {
    if (this.file === null) return;
    let text: string;
    try {
      // Entries are small and bounded in number: a file far larger is not one this agent wrote; do not read it whole.
      const { size } = await stat(this.file);
      const maxBytes = this.capacity * MAX_ENTRY_BYTES;
      if (size > maxBytes) {
        await this.setAside(`${size} bytes, over the ${maxBytes} an outbox of ${this.capacity} entries can take`);
        return;
      }
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') await this.setAside(`unreadable: ${code ?? (err as Error).message}`);
      return;
    }
    let parsed;
    try {
      parsed = v.safeParse(FileSchema, JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      await this.setAside('not an outbox file');
      return;
    }
    this.entries = parsed.output.entries.slice(-this.capacity);
    this.fileHasEntries = this.entries.length > 0;
    this.droppedTotal = parsed.output.dropped;
    if (this.entries.length > 0)
      this.log.info({ event: 'outbox_loaded', queued: this.entries.length }, 'outbox loaded');
  }

  /**
   * A file that cannot be used is moved aside, not overwritten: it may hold events a person wants back. If it cannot
   * be moved either, the outbox stays in memory for this run rather than destroy it.
   */
  private async setAside(reason: string): Promise<void> {
    const file = this.file;
    if (file === null) return;
    try {
      const target = await moveAside(file, this.clock.now());
      this.log.warn({ event: 'state_file_corrupt', file, movedTo: target, reason }, 'outbox file corrupt; moved aside');
    } catch (err) {
      this.file = null;
      this.log.error({ event: 'state_file_corrupt', file, reason, err }, 'outbox file corrupt; left in place');
    }
  }
}
