/**
 * Registration: the agent's identity with the master (docs/protocol.md §3). Registers at start and in the
 * background, never blocking the tunnel; negotiates v2 or falls back to v1; persists a new or changed id;
 * hands the identity to the workers. A trigger from a worker (404 on commands, 409 on events, 403) makes it
 * restart itself, which by the root's rest_for_one restarts the workers with the new identity.
 */
import { loudOnce } from '../../log/loud-once.js';
import type { Logger } from '../../log/logger.js';
import type { MasterClient, RegisterRequest } from '../../master/client.js';
import { describeFailure, type MasterFailure } from '../../domain/master-result.js';
import { failureDelay } from '../../supervisor/backoff.js';
import {
  identityChanged,
  registrationAttempt,
  type IdentityChanged,
  type RegistrationMsg,
} from '../../messages/registration.js';
import type { Identity } from '../../domain/identity.js';
import type { StateStore } from '../../persistence/state-files.js';
import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { ActorDef } from '../../supervisor/child-spec.js';
import type { StatusBoard } from '../../domain/status-board.js';
import { decideReregistration, newPacer, type ReregistrationPacer } from './reregistration-pacer.js';

export interface RegistrationDeps {
  client: MasterClient;
  store: StateStore;
  board: StatusBoard;
  displayName: string | undefined;
  version: string;
  /** Cap of the retry backoff, and the slow retry after 401/403 (REGISTER_RETRY_SECONDS). */
  retryCapMs: number;
  /** A worker's trigger within this long after a registration is not acted on (no re-registration storms). */
  minReregisterIntervalMs: number;
  subscribers: readonly ActorRef<IdentityChanged>[];
  /** Sent at every registration (the master replaces its list); asked each time, as Docker may have been away. */
  capabilities: () => Promise<readonly string[]>;
  /** The master refused the key or its binding (401, 403): after a decommission that means the agent is gone. */
  onRefused: () => void;
  random: () => number;
}

export interface RegistrationState {
  storedId: string | undefined;
  identity: Identity | null;
  /** The clock's monotonic ms of the last successful registration. */
  registeredAt: number | null;
  inFlight: boolean;
  failures: number;
  lastFailureKind: MasterFailure['kind'] | null;
}

const FIRST_RETRY_MS = 1000;

export function registrationDef(
  deps: RegistrationDeps,
): ActorDef<RegistrationState, RegistrationMsg, ReregistrationPacer> {
  const displayName = (id: string | undefined): string =>
    deps.displayName ?? (id ? `agent-${id.slice(0, 8)}` : 'dockflare-agent');

  const requestBody = (id: string | undefined, capabilities: readonly string[]): RegisterRequest => ({
    display_name: displayName(id),
    version: deps.version,
    agent_version: deps.version,
    supported_protocol_versions: [2, 1],
    capabilities: [...capabilities],
    ...(id ? { agent_id: id } : {}),
  });

  /** One clear line per change of failure kind, debug lines while it persists. */
  const logFailure = (log: Logger, state: RegistrationState, failure: MasterFailure, delayMs: number): void => {
    const fields = {
      event: 'registration_failed',
      failure: failure.kind,
      status: 'status' in failure ? failure.status : null,
      storedId: state.storedId ?? null,
      retryInMs: delayMs,
    };
    const hint =
      failure.kind === 'unauthorized'
        ? 'check DOCKFLARE_API_KEY'
        : failure.kind === 'forbidden'
          ? 'the key is bound to another agent than storedId'
          : null;
    loudOnce(
      log,
      state.lastFailureKind,
      failure.kind,
      failure.kind === 'transient' ? 'warn' : 'error',
      { ...fields, reason: describeFailure(failure), ...(hint === null ? {} : { hint }) },
      'registration failed',
    );
  };

  return {
    // Re-registering is a restart of this actor: when it last did so on a trigger, and how often in a row, must
    // outlive it.
    carry: newPacer,

    async init(ctx) {
      const storedId = await deps.store.loadAgentId();
      deps.board.publish('registration', { registered: false, agentId: storedId ?? null });
      ctx.timers.once('attempt', 0, registrationAttempt());
      return { storedId, identity: null, registeredAt: null, inFlight: false, failures: 0, lastFailureKind: null };
    },

    handlers: {
      'registration.attempt'(state, _msg, ctx) {
        if (state.inFlight) return state;
        ctx.log.debug(
          { event: 'registration_attempt', storedId: state.storedId ?? null },
          'registering with the master',
        );
        const request = deps
          .capabilities()
          .then((caps) => deps.client.register(requestBody(state.storedId, caps), ctx.signal));
        ctx.pipe(request, (result) => ({
          type: 'registration.result',
          result,
        }));
        return { ...state, inFlight: true };
      },

      async 'registration.result'(state, msg, ctx) {
        // Only durations are taken from it (the pacer's): monotonic.
        const now = ctx.clock.monotonic();
        if (!msg.result.ok) {
          const f = msg.result.failure;
          const failures = state.failures + 1;
          const slow = f.kind !== 'transient';
          const delayMs = slow
            ? deps.retryCapMs
            : failureDelay(failures, FIRST_RETRY_MS, deps.retryCapMs, deps.random(), f.retryAfterMs);
          logFailure(ctx.log, state, f, delayMs);
          if (f.kind === 'unauthorized' || f.kind === 'forbidden') deps.onRefused();
          deps.board.publish('registration', { lastError: describeFailure(f) });
          ctx.timers.once('attempt', delayMs, registrationAttempt());
          return { ...state, inFlight: false, failures, lastFailureKind: f.kind };
        }
        const reply = msg.result.value;
        let storedId = state.storedId;
        if (reply.agentId !== storedId && storedId !== undefined) {
          ctx.log.warn(
            { event: 'agent_id_changed', previousId: storedId, agentId: reply.agentId },
            'master assigned another agent id',
          );
        }
        // Every time, not only when it changed: the store writes only what the file does not hold yet, so an id whose
        // first write failed (a full disk, a volume briefly read-only) is written at the next registration.
        await deps.store.saveAgentId(reply.agentId);
        storedId = reply.agentId;
        const identity: Identity = {
          agentId: reply.agentId,
          protocolVersion: reply.protocolVersion,
          sessionId: reply.sessionId,
        };
        ctx.log.info(
          {
            event: 'registered',
            agentId: identity.agentId,
            protocolVersion: identity.protocolVersion,
            enrollment: reply.enrollment,
            httpStatus: msg.result.status,
          },
          'registered',
        );
        deps.board.publish('registration', {
          registered: true,
          agentId: identity.agentId,
          protocolVersion: identity.protocolVersion,
          enrollment: reply.enrollment,
          lastError: null,
        });
        for (const sub of deps.subscribers) tell(sub, identityChanged(identity));
        return { ...state, storedId, identity, registeredAt: now, inFlight: false, failures: 0, lastFailureKind: null };
      },

      'registration.required'(state, msg, ctx) {
        const current = state.identity;
        // About an identity we no longer hold (or before we have one): a registration is already under way.
        if (!current || current.agentId !== msg.identity.agentId || current.sessionId !== msg.identity.sessionId)
          return state;
        const now = ctx.clock.monotonic();
        const pacer = ctx.carried;
        const decision = decideReregistration(
          pacer,
          msg.cause,
          now,
          state.registeredAt === null ? null : now - state.registeredAt,
          { minIntervalMs: deps.minReregisterIntervalMs, retryCapMs: deps.retryCapMs },
        );
        if (!decision.act) {
          // Deferred, not ignored: the sender may be waiting for a new session (a Reporter after a 409).
          if (!ctx.timers.has('reregister')) {
            ctx.log.info(
              { event: 'reregistration_deferred', cause: msg.cause, inMs: decision.delayMs },
              're-registration deferred',
            );
            ctx.timers.once('reregister', decision.delayMs, msg);
          }
          return state;
        }
        ctx.log.warn(
          { event: 'reregistration_required', cause: msg.cause, agentId: current.agentId, streak: pacer.streak },
          'master requires a new registration',
        );
        deps.board.publish('registration', { registered: false });
        ctx.restartSelf(`re-register: ${msg.cause}`);
        return { ...state, identity: null };
      },

      'registration.get'(state, msg) {
        if (state.identity) tell(msg.replyTo, identityChanged(state.identity));
        return state;
      },
    },
  };
}
