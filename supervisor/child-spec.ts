/**
 * What an actor is (ActorDef: init, a handler table, optional shutdown and release) and how its supervisor treats
 * it (ChildSpec: restart type, backoff, shutdown timeout). Handlers are a mapped type over the message union, so a
 * message type without a handler does not compile.
 */
import type { Clock } from './clock.js';
import type Logger from 'bunyan';
import type { ActorCell, ActorRef } from './actor-ref.js';
import type { BackoffPolicy } from './backoff.js';
import type { IntensityLimit } from './intensity.js';
import type { Timers } from './timers.js';

export interface Message {
  readonly type: string;
}

export interface ActorContext<M extends Message, C = undefined> {
  /** The actor's stable address: replies sent here reach whichever incarnation runs then. */
  readonly self: ActorRef<M>;
  readonly name: string;
  readonly gen: number;
  readonly log: Logger;
  readonly clock: Clock;
  /** Aborted when this incarnation stops; pass it to every request, stream and external call. */
  readonly signal: AbortSignal;
  readonly timers: Timers<M>;
  /**
   * Pipe to self: the outcome of `work` comes back as a message to this incarnation. Without `onErr`, a rejection
   * crashes the actor through its mailbox, where the supervisor sees it (a floating rejection would end the process).
   */
  pipe<T>(work: Promise<T>, onOk: (value: T) => M, onErr?: (err: unknown) => M): void;
  /** Ends this actor normally (a `permanent` child is still restarted). */
  stopSelf(): void;
  /**
   * Asks the supervisor for a deliberate restart of this actor and, by its strategy, of its dependants (a new
   * session restarts the actors that depend on it). Not a crash: it does not count toward the intensity limit.
   */
  restartSelf(reason: string): void;
  /** Sends a message to this incarnation (stream callbacks); dropped once the incarnation has ended. */
  toSelf(msg: M): void;
  /**
   * What this actor's incarnations hand on to each other (`ActorDef.carry`): one value, made when the actor first
   * starts and given to every incarnation after it, so a restart keeps what a crash must not make it forget.
   */
  readonly carried: C;
  /** Opaque runtime handle of this incarnation; only supervisors use it, to place their children under it. */
  readonly runtimeHandle: unknown;
}

export type Handler<S, M extends Message, K extends M['type'], C = undefined> = (
  state: S,
  msg: Extract<M, { type: K }>,
  ctx: ActorContext<M, C>,
) => S | Promise<S>;

export type Handlers<S, M extends Message, C = undefined> = { readonly [K in M['type']]: Handler<S, M, K, C> };

interface ActorDefBase<S, M extends Message, C> {
  /** Start-up work; runs as the first message of each incarnation, so its failure is an ordinary crash. */
  init(ctx: ActorContext<M, C>): S | Promise<S>;
  handlers: Handlers<S, M, C>;
  /**
   * Graceful process shutdown (SIGTERM). `deadline` (the clock's monotonic ms) is when the supervisor stops
   * waiting: work that takes time (stopping an external resource) should size itself to it.
   */
  shutdown?(state: S, ctx: ActorContext<M, C>, deadline: number): void | Promise<void>;
  /** Always runs when an incarnation ends (crash, kill, shutdown): close streams and sockets here. */
  release?(state: S | undefined, ctx: ActorContext<M, C>): void;
}

/**
 * What an actor is. `carry` makes what its incarnations hand on (`ctx.carried`): called once, before the first
 * incarnation, and it must not throw. An actor that carries something must say how to make it; one that carries
 * nothing gets `undefined`. Keep in it only what must outlive a crash (what was already told, a turn on an external
 * resource): the state a handler returns is the incarnation's own and starts afresh.
 */
export type ActorDef<S, M extends Message, C = undefined> = ActorDefBase<S, M, C> &
  ([C] extends [undefined] ? { carry?(): C } : { carry(): C });

/** The definition's carry factory, if it has one (the runtime's and the spec driver's one way to read it). */
export function carryOf<S, M extends Message, C>(def: ActorDef<S, M, C>): (() => C) | undefined {
  const { carry } = def as { carry?: () => C };
  return carry?.bind(def);
}

export type RestartType = 'permanent' | 'transient' | 'temporary';
export type Strategy = 'one_for_one' | 'rest_for_one' | 'one_for_all';

export interface RuntimeSettings {
  clock: Clock;
  handlerTimeoutMs: number;
  random: () => number;
}

export interface ChildSpec<S = unknown, M extends Message = Message, C = unknown> {
  readonly cell: ActorCell<M, C>;
  readonly def: ActorDef<S, M, C>;
  readonly restart: RestartType;
  readonly backoff: BackoffPolicy;
  readonly shutdownTimeoutMs: number;
  /** Overrides the watchdog for an actor whose handlers legitimately run long (an image pull). */
  readonly handlerTimeoutMs?: number;
}

export interface SupervisorOptions {
  readonly strategy: Strategy;
  readonly limit: IntensityLimit;
}

/** Erases the state type so specs of different actors sit in one list. */
export type AnyChildSpec = ChildSpec<never> | ChildSpec;

export function childSpec<S, M extends Message, C>(spec: ChildSpec<S, M, C>): ChildSpec {
  return spec as unknown as ChildSpec;
}
