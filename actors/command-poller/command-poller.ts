/**
 * CommandPoller: fetches the master's command queue (docs/protocol.md §4) every COMMAND_POLL_INTERVAL_SECONDS with
 * jitter, backing off on failure. The master clears the queue when it answers, so commands are handed to the
 * TunnelKeeper the moment the reply arrives, outside this actor's mailbox: a poller that crashes right after a
 * poll cannot lose them (the keeper's cell keeps them even while the keeper itself restarts).
 */
import { handOffCommands } from './hand-off.js';
import { inTurn, newTurns, type Turns } from '../../supervisor/turns.js';
import { loudOnce } from '../../log/loud-once.js';
import type { MasterClient } from '../../master/client.js';
import { describeFailure, type MasterFailure } from '../../domain/master-result.js';
import { failureDelay, jittered } from '../../supervisor/backoff.js';
import { pollerDecommission, pollerTick, type CommandPollerMsg } from '../../messages/command-poller.js';
import { runDecommission, type DecommissionCommand, type DecommissionDeps } from './decommission.js';
import { registrationGet, registrationRequired, type RegistrationMsg } from '../../messages/registration.js';
import type { Identity } from '../../domain/identity.js';
import { type TunnelKeeperMsg } from '../../messages/tunnel-keeper.js';
import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { ActorDef } from '../../supervisor/child-spec.js';

export interface CommandPollerDeps {
  client: MasterClient;
  registration: ActorRef<RegistrationMsg>;
  tunnelKeeper: ActorRef<TunnelKeeperMsg>;
  pollIntervalMs: number;
  retryCapMs: number;
  /** Tells the log's redactor a tunnel token the master assigned, before anything can log it. */
  learnSecret: (token: string) => void;
  decommission: Omit<DecommissionDeps, 'client' | 'tunnelKeeper' | 'random' | 'retryCapMs'>;
  /** The final acknowledgement was accepted: the process stops its container or exits (agent/). */
  onDecommissioned: () => void;
  random: () => number;
}

/**
 * What the poller's incarnations hand on (`ctx.carried`). A lasting failure that makes the master ask for a
 * re-registration restarts this actor each time; a fresh incarnation must not report the same failure at error again,
 * nor send a second poll while the last one is out, nor run a decommission step that is running or acknowledged.
 */
export interface PollerMemory {
  /** The failure the log last reported, and how many polls have failed since the last good one. */
  lastFailureKind: MasterFailure['kind'] | null;
  failures: number;
  /** One poll out at a time, whichever incarnation sent it. */
  readonly polls: Turns;
  /**
   * Decommission commands are re-served on every poll until acknowledged (docs/protocol.md §13.2): one step runs at a
   * time, and an acknowledged command id is not acted on again.
   */
  readonly decommission: { running: string | null; readonly acknowledged: Set<string> };
}

export const newPollerMemory = (): PollerMemory => ({
  lastFailureKind: null,
  failures: 0,
  polls: newTurns(),
  decommission: { running: null, acknowledged: new Set() },
});

export interface CommandPollerState {
  identity: Identity | null;
  /** Failed polls in a row in this incarnation: the retry backoff starts afresh with it. */
  failures: number;
  lastSuccessAt: number | null;
  inFlight: boolean;
}

const FIRST_RETRY_MS = 1000;
/** A poll ends by its own request timeout (MASTER_REQUEST_TIMEOUT_SECONDS, at most 300 s): never waited on longer. */
const PREVIOUS_POLL_WAIT_MS = 300_000;

export function commandPollerDef(
  deps: CommandPollerDeps,
): ActorDef<CommandPollerState, CommandPollerMsg, PollerMemory> {
  return {
    carry: newPollerMemory,

    init(ctx) {
      tell(deps.registration, registrationGet(ctx.self));
      ctx.timers.once('tick', 0, pollerTick());
      return { identity: null, failures: 0, lastSuccessAt: null, inFlight: false };
    },

    handlers: {
      'identity.changed'(state, msg, ctx) {
        const first = state.identity === null;
        if (first && !state.inFlight) ctx.timers.once('tick', 0, pollerTick());
        return { ...state, identity: msg.identity };
      },

      'poller.tick'(state, _msg, ctx) {
        if (state.inFlight) return state;
        if (!state.identity) {
          // Nothing to poll before registration; identity.changed starts the loop.
          return state;
        }
        const agentId = state.identity.agentId;
        // No ctx.signal here on purpose: an answered poll must reach the keeper even if this actor died meanwhile.
        // So a restarted poller waits for the killed one's poll before it sends its own: two polls out at once
        // could hand their commands to the keeper in the wrong order (a start after the stop that followed it).
        const work = inTurn(
          ctx.carried.polls,
          ctx.clock,
          PREVIOUS_POLL_WAIT_MS,
          () => {
            ctx.log.warn(
              { event: 'previous_poll_slow', waitedMs: PREVIOUS_POLL_WAIT_MS },
              'previous poll still out; polling',
            );
          },
          async () => {
            const result = await deps.client.fetchCommands(agentId);
            if (result.ok) {
              if (result.value.warning)
                ctx.log.warn(
                  { event: 'commands_reply_odd', warning: result.value.warning },
                  'treating the command reply as empty',
                );
              const targets = {
                keeper: deps.tunnelKeeper,
                decommission: (command: DecommissionCommand) => {
                  tell(ctx.self, pollerDecommission(command));
                },
                lifecycle: deps.decommission.tombstones,
                learnSecret: deps.learnSecret,
              };
              handOffCommands(result.value.commands, targets, ctx.log);
            }
            return result;
          },
        );
        ctx.pipe(work, (result) => ({ type: 'poller.result', result, agentId }));
        return { ...state, inFlight: true };
      },

      'poller.decommission'(state, msg, ctx) {
        const memory = ctx.carried.decommission;
        const { command } = msg;
        if (memory.acknowledged.has(command.commandId) || memory.running !== null || state.identity === null)
          return state;
        memory.running = command.commandId;
        ctx.log.info(
          {
            event: 'decommission_command',
            phase: command.phase,
            operationId: command.operationId,
            commandId: command.commandId,
          },
          'decommission command received',
        );
        const step = runDecommission(
          {
            ...deps.decommission,
            client: deps.client,
            tunnelKeeper: deps.tunnelKeeper,
            random: deps.random,
            retryCapMs: deps.retryCapMs,
          },
          state.identity,
          command,
          ctx.log,
        ).then(
          (outcome) => {
            // Here, not through the pipe: the step outlives this incarnation, and its end must not be lost with it.
            memory.running = null;
            if (outcome.acknowledged || outcome.finished) memory.acknowledged.add(command.commandId);
            if (outcome.finished) deps.onDecommissioned();
            return outcome;
          },
          (err: unknown) => {
            memory.running = null;
            throw err;
          },
        );
        ctx.pipe(
          step,
          (outcome) => ({ type: 'poller.decommission-done', command, outcome }),
          () => ({ type: 'poller.decommission-done', command, outcome: null }),
        );
        return state;
      },

      'poller.decommission-done'(state, msg, ctx) {
        if (msg.outcome === null)
          ctx.log.error(
            { event: 'decommission_step_failed', phase: msg.command.phase, operationId: msg.command.operationId },
            'decommission step did not finish; waiting for the master to ask again',
          );
        return state;
      },

      'poller.result'(state, msg, ctx) {
        const next = { ...state, inFlight: false };
        const identity = state.identity;
        const said = ctx.carried;
        if (msg.result.ok) {
          if (said.lastFailureKind !== null)
            ctx.log.info({ event: 'commands_recovered', failures: said.failures }, 'command polling recovered');
          said.lastFailureKind = null;
          said.failures = 0;
          ctx.timers.once('tick', jittered(deps.pollIntervalMs, deps.random()), pollerTick());
          return { ...next, failures: 0, lastSuccessAt: ctx.clock.now() };
        }
        const f = msg.result.failure;
        const failures = state.failures + 1;
        const fields = {
          event: 'commands_failed',
          failure: f.kind,
          reason: describeFailure(f),
          failures: said.failures + 1,
          agentId: msg.agentId,
        };
        loudOnce(
          ctx.log,
          said.lastFailureKind,
          f.kind,
          f.kind === 'transient' ? 'warn' : 'error',
          fields,
          'command poll failed',
        );
        said.lastFailureKind = f.kind;
        said.failures++;
        if (identity && msg.agentId === identity.agentId) {
          if (f.kind === 'not_found') tell(deps.registration, registrationRequired('commands_not_found', identity));
          if (f.kind === 'forbidden') tell(deps.registration, registrationRequired('forbidden', identity));
        }
        const delay =
          f.kind === 'transient'
            ? failureDelay(failures, FIRST_RETRY_MS, deps.retryCapMs, deps.random(), f.retryAfterMs)
            : Math.max(
                jittered(deps.pollIntervalMs, deps.random()),
                failureDelay(failures, FIRST_RETRY_MS, deps.retryCapMs, deps.random()),
              );
        ctx.timers.once('tick', delay, pollerTick());
        return { ...next, failures };
      },
    },
  };
}
