/**
 * The agent's side of a decommission (docs/protocol.md §13.9, §13.10), one step per command, each effect stored
 * before the next: tombstone → the keeper's stopped state and stopped (kept) container → acknowledgement. A failed
 * step is acknowledged with its error code and done again when the master serves the command again; a failed final
 * acknowledgement is sent again with backoff until the master answers, as nothing else would ever send it.
 */
import type { MasterCommand } from '../../domain/commands.js';
import type { Identity } from '../../domain/identity.js';
import { describeFailure, type MasterResult } from '../../domain/master-result.js';
import type { SelfContainer } from '../../docker/self-container.js';
import type { Logger } from '../../log/logger.js';
import type { DecommissionAck, MasterClient } from '../../master/client.js';
import { tunnelDecommission, type TunnelDecommissioned, type TunnelKeeperMsg } from '../../messages/tunnel-keeper.js';
import type { TombstoneStore } from '../../persistence/tombstone.js';
import { ask, type ActorRef } from '../../supervisor/actor-ref.js';
import { failureDelay } from '../../supervisor/backoff.js';
import type { Clock } from '../../supervisor/clock.js';

export type DecommissionCommand = Extract<MasterCommand, { action: 'decommission' }>;

export interface DecommissionDeps {
  client: MasterClient;
  tombstones: TombstoneStore;
  tunnelKeeper: ActorRef<TunnelKeeperMsg>;
  /** Our own container, when it can be found: what self_stop_capability and agent_image say. */
  locateSelf: () => Promise<SelfContainer | null>;
  cloudflaredImage: string;
  clock: Clock;
  random: () => number;
  retryCapMs: number;
}

export interface DecommissionOutcome {
  readonly acknowledged: boolean;
  /** Set once the final acknowledgement was accepted: the agent's work is over. */
  readonly finished: boolean;
  readonly self: SelfContainer | null;
}

/** Longer than the container's 15 s stop plus the keeper's turn behind a slow Docker call. */
const KEEPER_WAIT_MS = 120_000;
const FIRST_RETRY_MS = 1000;

export async function runDecommission(
  deps: DecommissionDeps,
  identity: Identity,
  cmd: DecommissionCommand,
  log: Logger,
): Promise<DecommissionOutcome> {
  const fields = { operationId: cmd.operationId, commandId: cmd.commandId };
  const self = await deps.locateSelf();
  const capability = self === null ? 'manual' : 'supported';
  const session: DecommissionAck = identity.protocolVersion === 2 ? { agent_session_id: identity.sessionId } : {};
  const now = new Date(deps.clock.now()).toISOString();
  const phase = cmd.phase === 'prepare' ? 'prepared' : 'finalized';
  const written = await deps.tombstones.write(phase, cmd.operationId, identity.agentId, now);
  if (!written.ok)
    log.error(
      { event: 'tombstone_write_failed', ...fields, conflict: written.conflict, reason: written.reason },
      written.conflict ? 'tombstone conflict; left as it is' : 'tombstone not written',
    );

  if (cmd.phase === 'prepare') {
    const tunnel: TunnelDecommissioned = written.ok
      ? await ask<TunnelKeeperMsg, TunnelDecommissioned>(
          deps.tunnelKeeper,
          (replyTo) => tunnelDecommission('prepare', replyTo),
          KEEPER_WAIT_MS,
        )
      : {
          tunnelContainer: 'failed',
          cloudflaredImage: deps.cloudflaredImage,
          errorCode: 'tombstone_persistence_failed',
        };
    const body: DecommissionAck = {
      command_id: cmd.commandId,
      phase: 'prepared',
      tombstone_persisted: written.ok,
      tunnel_container: tunnel.tunnelContainer,
      cloudflared_image: tunnel.cloudflaredImage,
      agent_image: self?.image ?? null,
      self_stop_capability: capability,
      ...(tunnel.errorCode === null ? {} : { error_code: tunnel.errorCode }),
      ...session,
    };
    const result = await deps.client.ackDecommission(identity.agentId, cmd.operationId, body);
    logAck(log, result, { ...fields, phase: 'prepared', tunnelContainer: tunnel.tunnelContainer }, tunnel.errorCode);
    return { acknowledged: result.ok, finished: false, self };
  }

  // Finalize: nothing is acknowledged before the tombstone says finalized and the token is gone from the disk.
  if (!written.ok) return { acknowledged: false, finished: false, self };
  const tunnel = await ask<TunnelKeeperMsg, TunnelDecommissioned>(
    deps.tunnelKeeper,
    (replyTo) => tunnelDecommission('finalize', replyTo),
    KEEPER_WAIT_MS,
  );
  if (tunnel.errorCode !== null) {
    log.error({ event: 'decommission_finalize_failed', ...fields, errorCode: tunnel.errorCode }, 'finalize failed');
    return { acknowledged: false, finished: false, self };
  }
  const body: DecommissionAck = {
    command_id: cmd.commandId,
    phase: 'shutdown_scheduled',
    self_stop_capability: capability,
    agent_image: self?.image ?? null,
    ...session,
  };
  for (let attempt = 1; ; attempt++) {
    const result = await deps.client.ackDecommission(identity.agentId, cmd.operationId, body);
    if (result.ok || result.failure.kind !== 'transient' || result.failure.status === 401) {
      logAck(log, result, { ...fields, phase: 'shutdown_scheduled', attempts: attempt }, null);
      // Refused for the key or the record (Force came first, or the master finished without our reply): this agent is
      // gone on the master, so it ends as if accepted. A 409 (finalize_failed) waits for the master to ask again.
      const removed = !result.ok && ['unauthorized', 'forbidden', 'not_found'].includes(result.failure.kind);
      const gone = removed || (!result.ok && result.failure.status === 401);
      if (result.ok || gone) await deps.tombstones.acknowledged(new Date(deps.clock.now()).toISOString());
      return { acknowledged: result.ok, finished: result.ok || gone, self };
    }
    const delay = failureDelay(attempt, FIRST_RETRY_MS, deps.retryCapMs, deps.random(), result.failure.retryAfterMs);
    if (attempt === 1)
      log.warn(
        { event: 'decommission_ack_retrying', ...fields, reason: describeFailure(result.failure), retryInMs: delay },
        'final acknowledgement not delivered; retrying',
      );
    await new Promise<void>((resolve) => deps.clock.setTimeout(resolve, delay));
  }
}

function logAck(
  log: Logger,
  result: MasterResult<{ code: string | null }>,
  fields: Record<string, unknown>,
  reportedError: string | null,
): void {
  if (result.ok) {
    log.info({ event: 'decommission_acknowledged', ...fields }, 'decommission step acknowledged');
    return;
  }
  const f = result.failure;
  const expected = reportedError !== null && 'code' in f && f.code === reportedError;
  // A 409 with a code of the master's own (`tunnel_sync_failed`, `dns_cleanup_failed`) is its clean-up failing after
  // it took our acknowledgement: the master's problem to retry or force, not an error of this agent.
  const masterSide = !expected && f.kind === 'invalid' && f.status === 409 && /_failed$/.test(f.code ?? '');
  log[expected || masterSide ? 'warn' : 'error'](
    { event: 'decommission_ack_failed', ...fields, reason: describeFailure(f), reportedError },
    expected
      ? 'decommission step failed; the master will ask again'
      : masterSide
        ? 'the master took the acknowledgement but its clean-up failed'
        : 'decommission acknowledgement refused',
  );
}
