/**
 * What one incarnation is to its supervisor and what it is made of: the envelopes of its nact mailbox, the hooks
 * its supervisor gives it, what starting one returns, and the two errors the host itself raises.
 */
import { type Ref } from 'nact';
import type Logger from 'bunyan';
import type { ActorCell, Incarnation } from './actor-ref.js';
import { type ActorDef, type Message, type RuntimeSettings } from './child-spec.js';

export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
  constructor(
    readonly msgType: string,
    readonly timeoutMs: number,
  ) {
    super(`handler for ${msgType} did not settle within ${timeoutMs} ms`);
  }
}

export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
}

export type Envelope<M> =
  | { readonly k: 'init' }
  /**
   * `own`: the incarnation sent it to itself (a timer, a piped reply, a stream callback). Such a message answers
   * or continues something of that incarnation only; a later one never gets it (a reply to a request it did not
   * make would touch its counters and queues; its own timers and streams start afresh).
   */
  | { readonly k: 'msg'; readonly msg: M; readonly own?: true }
  | { readonly k: 'shutdown'; readonly done: () => void; readonly deadline: number }
  | { readonly k: 'crash'; readonly reason: Error }
  | { readonly k: 'exit'; readonly restart: string | null };

export type HostState<S> = { ready: false } | { ready: true; s: S };

export interface HostHooks {
  /** `repeat`: the crash repeats the actor's previous one within a crash loop (crash-loop.ts). */
  onCrash(reason: Error, msgType: string | undefined, repeat: boolean): void;
  /** `restart` is the reason of a requested restart, null for a plain normal exit. */
  onExit(restart: string | null): void;
}

export interface RunningIncarnation<M> extends Incarnation<M> {
  readonly nactRef: Ref<unknown>;
  /** Resolves once nact has stopped the actor and its release hook ran. */
  readonly terminated: Promise<void>;
  /** Runs the actor's shutdown hook through its mailbox; kills it if that takes longer than `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<'ok' | 'timeout'>;
  /** Stops at once, without the shutdown hook (a sibling restart under one_for_all/rest_for_one). */
  kill(): void;
  /** Makes the actor crash on its next turn, through the real crash path (chaos). */
  injectCrash(reason: Error): void;
}

export interface StartOptions<S, M extends Message, C> {
  parent: Ref<unknown>;
  cell: ActorCell<M, C>;
  def: ActorDef<S, M, C>;
  gen: number;
  log: Logger;
  runtime: RuntimeSettings;
  hooks: HostHooks;
}

export function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

export function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : `non-error thrown: ${String(err)}`);
}
