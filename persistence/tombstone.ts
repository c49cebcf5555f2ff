/**
 * The decommission tombstone (docs/protocol.md §13.8): one small JSON file that outlives the agent's record on the
 * master. Written atomically with mode 0600 and nothing secret in it; never overwritten by another operation or
 * agent. The store keeps the current tombstone in memory, so the actors ask it without touching the disk.
 */
import { readFile, rm } from 'node:fs/promises';
import * as v from 'valibot';
import { type Decoded, jsonObject } from '../domain/decoded.js';
import { decodeJsonFile } from './formats.js';
import {
  lifecycleOf,
  tombstoneConflict,
  type Lifecycle,
  type LifecycleView,
  type Tombstone,
  type TombstonePhase,
} from '../domain/lifecycle.js';
import { atomicWrite } from './atomic-write.js';

const TombstoneSchema = jsonObject({
  schema_version: v.literal(1),
  operation_id: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  agent_id: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  phase: v.picklist(['prepared', 'finalized']),
  requested_self_action: v.optional(v.literal('stop'), 'stop'),
  prepared_at: v.pipe(v.string(), v.maxLength(64)),
  finalized_at: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64))), null),
  // Absent in an upstream tombstone: a finalized one of those counts as acknowledged.
  final_acknowledged_at: v.nullish(v.pipe(v.string(), v.maxLength(64))),
});

export function decodeTombstone(text: string): Decoded<Tombstone> {
  const parsed = decodeJsonFile(text, TombstoneSchema);
  if (!parsed.ok) return parsed;
  const t = parsed.value;
  return {
    ok: true,
    value: {
      schemaVersion: 1,
      operationId: t.operation_id,
      agentId: t.agent_id,
      phase: t.phase,
      requestedSelfAction: 'stop',
      preparedAt: t.prepared_at,
      finalizedAt: t.finalized_at,
      finalAcknowledgedAt:
        t.final_acknowledged_at !== undefined
          ? t.final_acknowledged_at
          : t.phase === 'finalized'
            ? (t.finalized_at ?? 'before this agent')
            : null,
    },
  };
}

export function encodeTombstone(t: Tombstone): string {
  const wire = {
    schema_version: t.schemaVersion,
    operation_id: t.operationId,
    agent_id: t.agentId,
    phase: t.phase,
    requested_self_action: t.requestedSelfAction,
    prepared_at: t.preparedAt,
    finalized_at: t.finalizedAt,
    final_acknowledged_at: t.finalAcknowledgedAt,
  };
  return `${JSON.stringify(wire, null, 2)}\n`;
}

/** What reading the file found. `unreadable`: it exists but cannot be used; the agent then stays silent. */
export type TombstoneRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'found'; readonly tombstone: Tombstone }
  | { readonly kind: 'unreadable'; readonly reason: string };

export async function readTombstone(file: string): Promise<TombstoneRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    return { kind: 'unreadable', reason: code ?? 'read failed' };
  }
  const decoded = decodeTombstone(text);
  return decoded.ok ? { kind: 'found', tombstone: decoded.value } : { kind: 'unreadable', reason: decoded.reason };
}

export type TombstoneWrite =
  | { readonly ok: true; readonly tombstone: Tombstone; readonly changed: boolean }
  | { readonly ok: false; readonly conflict: boolean; readonly reason: string };

/** The tombstone boundary as the decommission sees it; `lifecycle` is what every other actor reads. */
export interface TombstoneStore extends LifecycleView {
  readonly file: string;
  readonly current: Tombstone | null;
  write(phase: TombstonePhase, operationId: string, agentId: string, nowIso: string): Promise<TombstoneWrite>;
  /** The master accepted the final acknowledgement: nothing is owed any more. */
  acknowledged(nowIso: string): Promise<void>;
}

export class FileTombstoneStore implements TombstoneStore {
  private tombstone: Tombstone | null;
  /** A file that exists but cannot be decoded: the agent treats it as decommissioned and never overwrites it. */
  private readonly unusable: string | null;

  private constructor(
    readonly file: string,
    read: TombstoneRead,
  ) {
    this.tombstone = read.kind === 'found' ? read.tombstone : null;
    this.unusable = read.kind === 'unreadable' ? read.reason : null;
  }

  static async open(file: string): Promise<FileTombstoneStore> {
    return new FileTombstoneStore(file, await readTombstone(file));
  }

  /** Why the file on disk could not be used, or null. */
  get problem(): string | null {
    return this.unusable;
  }

  get current(): Tombstone | null {
    return this.tombstone;
  }

  get lifecycle(): Lifecycle {
    return this.unusable !== null ? 'decommissioned' : lifecycleOf(this.tombstone);
  }

  async acknowledged(nowIso: string): Promise<void> {
    const t = this.tombstone;
    if (t === null || t.phase !== 'finalized' || t.finalAcknowledgedAt !== null) return;
    const next = { ...t, finalAcknowledgedAt: nowIso };
    // Best effort: if this write fails, a restart sends the acknowledgement once more, which the master accepts.
    await atomicWrite(this.file, encodeTombstone(next)).catch(() => undefined);
    this.tombstone = next;
  }

  async write(phase: TombstonePhase, operationId: string, agentId: string, nowIso: string): Promise<TombstoneWrite> {
    if (this.unusable !== null)
      return { ok: false, conflict: true, reason: `the tombstone file cannot be read (${this.unusable})` };
    const before = this.tombstone;
    const conflict = tombstoneConflict(before, phase, operationId, agentId);
    if (conflict !== null) return { ok: false, conflict: true, reason: conflict };
    if (before !== null && before.phase === phase) return { ok: true, tombstone: before, changed: false };
    const next: Tombstone = {
      schemaVersion: 1,
      operationId,
      agentId,
      phase,
      requestedSelfAction: 'stop',
      preparedAt: before?.preparedAt ?? nowIso,
      finalizedAt: phase === 'finalized' ? nowIso : null,
      finalAcknowledgedAt: null,
    };
    try {
      await atomicWrite(this.file, encodeTombstone(next));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return { ok: false, conflict: false, reason: e.code ?? e.message };
    }
    this.tombstone = next;
    return { ok: true, tombstone: next, changed: true };
  }
}

/** A finalized tombstone whose final acknowledgement was never accepted: the agent must send it after a restart. */
export const finalAckOwed = (t: Tombstone | null): boolean =>
  t?.phase === 'finalized' && t.finalAcknowledgedAt === null;

/** For the CLI's `decommission clear`: removes the file; true when there was one. */
export async function removeTombstone(file: string): Promise<boolean> {
  const read = await readTombstone(file);
  await rm(file, { force: true });
  return read.kind !== 'none';
}
