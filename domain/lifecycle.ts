/**
 * Where the agent is in its life with the master (docs/protocol.md §13): serving, prepared for removal, or removed.
 * The tombstone file is its durable record; while one exists the agent serves nothing but the decommission itself.
 */
export type Lifecycle = 'enrolled' | 'prepared' | 'decommissioned';

export type TombstonePhase = 'prepared' | 'finalized';

/** The tombstone as the upstream agent writes it (schema_version 1); no secret is ever part of it. */
export interface Tombstone {
  readonly schemaVersion: 1;
  readonly operationId: string;
  readonly agentId: string;
  readonly phase: TombstonePhase;
  readonly requestedSelfAction: 'stop';
  readonly preparedAt: string;
  readonly finalizedAt: string | null;
  /**
   * Ours, beside the upstream fields: when the master accepted the final acknowledgement. Null while it is owed (the
   * agent then registers and polls again after a restart, to send it); absent in an upstream tombstone (done).
   */
  readonly finalAcknowledgedAt: string | null;
}

export function lifecycleOf(tombstone: Tombstone | null): Lifecycle {
  if (tombstone === null) return 'enrolled';
  return tombstone.phase === 'finalized' ? 'decommissioned' : 'prepared';
}

/** What the actors read: the current lifecycle, answered from memory (the tombstone store keeps it). */
export interface LifecycleView {
  readonly lifecycle: Lifecycle;
}

/**
 * Why writing `phase` for this operation and agent over `current` is refused, or null when it is allowed: a
 * tombstone of another operation or agent is never overwritten, nor is a finalized one taken back to prepared.
 */
export function tombstoneConflict(
  current: Tombstone | null,
  phase: TombstonePhase,
  operationId: string,
  agentId: string,
): string | null {
  if (current === null) return null;
  if (current.operationId !== operationId) return 'the tombstone belongs to another decommission operation';
  if (current.agentId !== agentId) return 'the tombstone belongs to another agent';
  if (current.phase === 'finalized' && phase === 'prepared') return 'the decommission is already finalized';
  return null;
}
