/**
 * The master's decommission operation (v3.1.4 line) as it keeps it: states, the durable command served on every
 * poll until acknowledged, the timeout, retry and force. The acknowledgement route is decommission-ack.ts.
 */
import { randomUUID } from 'node:crypto';
import type { AgentRecord } from './types.js';

/** What an operation touches of the master's store: the records and the keys' status. */
export interface AgentStore {
  readonly records: Map<string, AgentRecord>;
  readonly keys: Map<string, { boundAgentId: string | null; status: 'active' | 'revoked' }>;
}

export type OperationState =
  | 'waiting_for_prepare'
  | 'remote_prepared'
  | 'master_cleanup'
  | 'waiting_for_finalize'
  | 'shutdown_scheduled'
  | 'completed'
  | 'prepare_failed'
  | 'cleanup_failed'
  | 'finalize_failed'
  | 'timed_out'
  | 'force_cleanup'
  | 'forced_completed'
  | 'force_failed';

const TERMINAL: ReadonlySet<OperationState> = new Set(['completed', 'forced_completed']);
/** States in which the outstanding command is served with every poll. */
const SERVED: ReadonlySet<OperationState> = new Set([
  'waiting_for_prepare',
  'waiting_for_finalize',
  'prepare_failed',
  'timed_out',
]);
const WAITING: ReadonlySet<OperationState> = new Set(['waiting_for_prepare', 'waiting_for_finalize']);

export interface DecommissionOperation {
  operationId: string;
  agentId: string;
  state: OperationState;
  /** The durable command (prepare or finalize), or null once none is outstanding. */
  command: Record<string, unknown> | null;
  /** Acknowledged command ids and their phase; an acknowledged id always answers 200 again. */
  acknowledged: Map<string, 'prepared' | 'shutdown_scheduled'>;
  /** The registration's capabilities, frozen at the start. */
  capabilities: string[];
  /** Every accepted or failed acknowledgement body, in order. */
  acks: Record<string, unknown>[];
  lastErrorCode: string | null;
  agentContainer: 'stop_scheduled' | 'manual' | 'manual_required';
  remoteHostCleanupRequired: boolean;
  /** Monotonic ms after which a waiting operation times out (checked on every request, as the 5 s worker would). */
  deadline: number;
  /** Scenario hooks: the next cleanup or key revocation fails with this code. */
  failCleanupWith: string | null;
  failFinalizeWith: string | null;
}

export const isTerminal = (op: DecommissionOperation): boolean => TERMINAL.has(op.state);

export function prepareCommand(op: DecommissionOperation, agent: AgentRecord | undefined, first: boolean) {
  return {
    action: 'prepare_decommission',
    protocol_version: 1,
    operation_id: op.operationId,
    command_id: randomUUID(),
    requested_self_action: 'stop',
    // A retried prepare carries neither (as the master does).
    ...(first ? { expected_tunnel_id: agent?.tunnel?.id ?? null, created_at: new Date().toISOString() } : {}),
  };
}

export function finalizeCommand(op: DecommissionOperation) {
  return {
    action: 'finalize_decommission',
    protocol_version: 1,
    operation_id: op.operationId,
    command_id: randomUUID(),
    requested_self_action: 'stop',
  };
}

export class Decommissions {
  readonly operations = new Map<string, DecommissionOperation>();

  constructor(
    private readonly state: AgentStore,
    private readonly timeoutMs: number,
  ) {}

  /** POST …/decommission (and …/remove): an existing unfinished operation is returned, not doubled. */
  start(agent: AgentRecord): { op: DecommissionOperation; created: boolean } {
    const existing = this.ofAgent(agent.agentId);
    if (existing && !isTerminal(existing)) return { op: existing, created: false };
    const op: DecommissionOperation = {
      operationId: randomUUID(),
      agentId: agent.agentId,
      state: 'waiting_for_prepare',
      command: null,
      acknowledged: new Map(),
      capabilities: [...agent.capabilities],
      acks: [],
      lastErrorCode: null,
      agentContainer: agent.capabilities.includes('self_stop.v1') ? 'stop_scheduled' : 'manual',
      remoteHostCleanupRequired: false,
      deadline: performance.now() + this.timeoutMs,
      failCleanupWith: null,
      failFinalizeWith: null,
    };
    op.command = prepareCommand(op, agent, true);
    this.operations.set(op.operationId, op);
    agent.decommissionOperationId = op.operationId;
    return { op, created: true };
  }

  ofAgent(agentId: string): DecommissionOperation | undefined {
    return [...this.operations.values()].reverse().find((op) => op.agentId === agentId);
  }

  /** The operation that blocks the agent's events and admin changes, if any. */
  active(agent: AgentRecord): DecommissionOperation | undefined {
    this.expire();
    const op = agent.decommissionOperationId === null ? undefined : this.operations.get(agent.decommissionOperationId);
    return op && !isTerminal(op) ? op : undefined;
  }

  /** What GET …/commands appends, last and not cleared. */
  served(agent: AgentRecord): Record<string, unknown> | undefined {
    const op = this.active(agent);
    return op && SERVED.has(op.state) && op.command !== null ? { ...op.command } : undefined;
  }

  /** As the master's worker: a waiting operation past its deadline is timed out (never forced). */
  expire(now = performance.now()): void {
    for (const op of this.operations.values())
      if (WAITING.has(op.state) && now >= op.deadline) {
        op.state = 'timed_out';
        op.lastErrorCode = 'agent_timeout';
      }
  }

  /** A scenario hook: the deadline passes now. */
  timeOut(operationId: string): void {
    const op = this.require(operationId);
    op.deadline = 0;
    this.expire();
  }

  retry(operationId: string): { ok: true; op: DecommissionOperation } | { ok: false; status: number; code: string } {
    const op = this.require(operationId);
    const agent = this.state.records.get(op.agentId);
    const finalizing = op.command?.action === 'finalize_decommission';
    if (op.state === 'cleanup_failed') {
      const failure = this.cleanup(op);
      return failure === null ? { ok: true, op } : { ok: false, status: 409, code: failure };
    }
    if (op.state === 'prepare_failed' || (op.state === 'timed_out' && !finalizing)) {
      op.command = prepareCommand(op, agent, false);
      op.state = 'waiting_for_prepare';
    } else if (op.state === 'finalize_failed' || (op.state === 'timed_out' && finalizing)) {
      op.command = finalizeCommand(op);
      op.state = 'waiting_for_finalize';
    } else return { ok: false, status: 409, code: 'operation_not_retryable' };
    op.deadline = performance.now() + this.timeoutMs;
    return { ok: true, op };
  }

  force(operationId: string): { ok: true; op: DecommissionOperation } | { ok: false; status: number; code: string } {
    const op = this.require(operationId);
    if (isTerminal(op)) return { ok: true, op };
    if (!(WAITING.has(op.state) || op.state.endsWith('_failed') || op.state === 'timed_out'))
      return { ok: false, status: 409, code: 'operation_not_forceable' };
    this.revokeBoundKeys(op.agentId);
    this.state.records.delete(op.agentId);
    op.command = null;
    op.state = 'forced_completed';
    op.remoteHostCleanupRequired = true;
    return { ok: true, op };
  }

  /** The master's clean-up after a `prepared` ack: the agent's rules go; then the finalize command is issued. */
  cleanup(op: DecommissionOperation): string | null {
    if (op.failCleanupWith !== null) {
      op.state = 'cleanup_failed';
      op.lastErrorCode = op.failCleanupWith;
      op.command = null;
      return op.failCleanupWith;
    }
    this.state.records.get(op.agentId)?.containers.clear();
    op.command = finalizeCommand(op);
    op.state = 'waiting_for_finalize';
    op.deadline = performance.now() + this.timeoutMs;
    return null;
  }

  /** After the final ack: every active key bound to the agent is revoked and its record deleted. */
  finish(op: DecommissionOperation): string | null {
    if (op.failFinalizeWith !== null) {
      op.state = 'finalize_failed';
      op.lastErrorCode = op.failFinalizeWith;
      return op.failFinalizeWith;
    }
    this.revokeBoundKeys(op.agentId);
    this.state.records.delete(op.agentId);
    op.command = null;
    op.state = 'completed';
    return null;
  }

  view(op: DecommissionOperation): Record<string, unknown> {
    return {
      operation_id: op.operationId,
      agent_id: op.agentId,
      state: op.state,
      last_error_code: op.lastErrorCode,
      agent_container: op.agentContainer,
      capabilities: op.capabilities,
      remote_host_cleanup_required: op.remoteHostCleanupRequired,
      outstanding_command_id: op.command?.command_id ?? null,
    };
  }

  require(operationId: string): DecommissionOperation {
    const op = this.operations.get(operationId);
    if (!op) throw new Error(`test master: no decommission operation ${operationId}`);
    return op;
  }

  private revokeBoundKeys(agentId: string): void {
    for (const key of this.state.keys.values())
      if (key.boundAgentId === agentId && key.status === 'active') key.status = 'revoked';
  }
}
