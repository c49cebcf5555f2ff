/**
 * Runs one incarnation of an ActorDef as a nact actor. This file, supervisor-steps.ts and tree.ts are the only ones
 * that know nact exists. Everything nact does not give us per incarnation lives here: the crash path to the supervisor,
 * the handler watchdog, pipe-to-self, timers and an abort signal that die with the incarnation, and handing the
 * unprocessed mailbox back to the cell so that a restart loses nothing but the message that crashed.
 */
import { dispatch, spawn, stop, type Ref } from 'nact';
import type Logger from 'bunyan';
import type { ActorCell, Incarnation } from './actor-ref.js';
import { carryOf, type ActorContext, type ActorDef, type Message, type RuntimeSettings } from './child-spec.js';
import { crashLoopLevel, repeatsLastCrash } from './crash-loop.js';
import { Timers } from './timers.js';

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

type Envelope<M> =
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

type HostState<S> = { ready: false } | { ready: true; s: S };

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

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

export function startIncarnation<S, M extends Message, C>(opts: StartOptions<S, M, C>): RunningIncarnation<M> {
  const { cell, def, gen, log, runtime, hooks } = opts;
  const abort = new AbortController();
  let alive = true;
  let resolveTerminated: () => void = () => undefined;
  const terminated = new Promise<void>((resolve) => {
    resolveTerminated = resolve;
  });
  // Assigned once below; every closure that reads it runs only after the spawn.
  let nactRef: Ref<Envelope<M>> | undefined = undefined;

  const post = (env: Envelope<M>): void => {
    if (alive && nactRef) dispatch(nactRef, env);
  };
  const timers = new Timers<M>(runtime.clock, (msg) => {
    post({ k: 'msg', msg, own: true });
  });

  /** The last state a handler returned: release gets it even when nact no longer can (a detached actor). */
  let latest: HostState<S> = { ready: false };
  /** The watchdog of the handler in flight, if any. */
  let watchdog: { cancel: () => void } | undefined;
  /** nact hands the mailbox to afterStop each time it stops an actor; only the first hand-over is real. */
  let handedBack = false;

  /**
   * Ends this incarnation's side of things; idempotent. Returns false when it had already ended. The release hook
   * runs here, synchronously and while this actor is still attached in nact: a supervisor must stop its children
   * before nact detaches it, because a detached parent's children can no longer be found (and would run on).
   */
  const end = (): boolean => {
    if (!alive) return false;
    alive = false;
    timers.close();
    // A handler still out when the incarnation is killed must not crash it again later through its watchdog.
    watchdog?.cancel();
    abort.abort(new Error(`actor ${cell.id} gen ${gen} stopped`));
    cell.unbind(gen);
    try {
      def.release?.(latest.ready ? latest.s : undefined, ctx);
    } catch (err) {
      log.error({ err }, 'release hook failed');
    }
    return true;
  };

  const ctx: ActorContext<M, C> = {
    self: cell,
    carried: cell.carry(carryOf(def)),
    name: cell.id,
    gen,
    log,
    clock: runtime.clock,
    signal: abort.signal,
    timers,
    pipe<T>(work: Promise<T>, onOk: (value: T) => M, onErr?: (err: unknown) => M): void {
      work.then(
        (value) => {
          try {
            post({ k: 'msg', msg: onOk(value), own: true });
          } catch (err) {
            post({ k: 'crash', reason: asError(err) });
          }
        },
        (err: unknown) => {
          if (!onErr) {
            post({ k: 'crash', reason: asError(err) });
            return;
          }
          try {
            post({ k: 'msg', msg: onErr(err), own: true });
          } catch (mapErr) {
            post({ k: 'crash', reason: asError(mapErr) });
          }
        },
      );
    },
    stopSelf(): void {
      post({ k: 'exit', restart: null });
    },
    restartSelf(reason: string): void {
      post({ k: 'exit', restart: reason });
    },
    toSelf(msg: M): void {
      post({ k: 'msg', msg, own: true });
    },
    get runtimeHandle(): unknown {
      return nactRef;
    },
  };

  const watched = async <T>(value: T | Promise<T>, what: string): Promise<T> => {
    if (!isThenable(value)) return value;
    // If the watchdog wins, the handler's own late failure must not become an unhandled rejection.
    value.then(undefined, (err: unknown) => {
      if (!alive) log.debug({ err, msgType: what }, 'late failure of an abandoned handler');
    });
    let handle: { cancel: () => void } | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      handle = runtime.clock.setTimeout(() => {
        reject(new HandlerTimeoutError(what, runtime.handlerTimeoutMs));
      }, runtime.handlerTimeoutMs);
    });
    watchdog = handle;
    try {
      return await Promise.race([value, timeout]);
    } finally {
      handle?.cancel();
      if (watchdog === handle) watchdog = undefined;
    }
  };

  const behaviour = async (state: HostState<S>, env: Envelope<M>): Promise<HostState<S>> => {
    if (!alive) {
      // An ended incarnation that nact still runs (it could not be stopped) does nothing more: the messages others
      // sent it go back to the cell for the next incarnation, its own are dropped, a pending shutdown is answered.
      if (env.k === 'msg' && env.own !== true) cell.requeue([env.msg]);
      if (env.k === 'shutdown') env.done();
      return state;
    }
    switch (env.k) {
      case 'init':
        latest = { ready: true, s: await watched(def.init(ctx), '$init') };
        return latest;
      case 'msg': {
        if (!state.ready) throw new Error(`${env.msg.type} arrived before init`);
        // The mapped Handlers type guarantees handlers[T] accepts the message whose type is T.
        const handler = def.handlers[env.msg.type as M['type']] as (
          s: S,
          m: M,
          c: ActorContext<M, C>,
        ) => S | Promise<S>;
        const next = await watched(handler(state.s, env.msg, ctx), env.msg.type);
        cell.processed++;
        latest = { ready: true, s: next };
        return latest;
      }
      case 'shutdown':
        try {
          if (state.ready && def.shutdown) await def.shutdown(state.s, ctx, env.deadline);
        } catch (err) {
          log.error({ err }, 'shutdown hook failed');
        }
        if (end() && nactRef) stop(nactRef);
        env.done();
        return state;
      case 'crash':
        throw env.reason;
      case 'exit':
        if (end() && nactRef) stop(nactRef);
        hooks.onExit(env.restart);
        return state;
    }
  };

  const onCrash = (env: Envelope<M> | undefined, err: Error | undefined): void => {
    if (!end()) return;
    const reason = asError(err);
    const msgType =
      env?.k === 'msg' ? env.msg.type : env?.k === 'init' ? '$init' : env?.k === 'crash' ? '$crash' : undefined;
    const repeat = repeatsLastCrash(cell, reason, msgType, runtime.clock.monotonic());
    const level = crashLoopLevel(repeat ? cell.repeatCrashes + 1 : 0, 'error');
    const fields = {
      event: 'actor_crashed',
      actor: cell.id,
      gen,
      msgType,
      err: reason,
      ...(repeat ? { repeats: cell.repeatCrashes + 1 } : {}),
    };
    // The first repeat says that the loop goes quiet: further repeats are at debug until the actor recovers.
    log[level](level === 'warn' ? { ...fields, quietUntilRecovered: true } : fields, 'actor crashed');
    hooks.onCrash(reason, msgType, repeat);
  };

  const afterStop = (_state: HostState<S> | undefined, nctx: { mailbox: unknown[] }): void => {
    if (handedBack) return;
    handedBack = true;
    const leftover: M[] = [];
    for (const item of nctx.mailbox) {
      const env = (item as { message?: Envelope<M> }).message;
      if (env?.k === 'msg') {
        if (env.own !== true) leftover.push(env.msg);
      } else if (env?.k === 'shutdown') env.done();
    }
    cell.requeue(leftover);
    resolveTerminated();
  };

  const initialState: HostState<S> = { ready: false };
  nactRef = spawn(opts.parent, behaviour, cell.id, {
    initialState,
    // nact must never see a throwing onCrash (it would end the process): the hook only records and stops.
    onCrash: (msg, err, nctx) => {
      const wasAlive = alive;
      try {
        onCrash(msg, err);
      } catch {
        /* logging failed; stopping is still right */
      }
      // A late failure of a handler that outlived its killed incarnation: nact has stopped this actor already, and
      // stopping it again would hand its old mailbox back a second time (to the next incarnation).
      return wasAlive ? nctx.stop : nctx.resume;
    },
    afterStop: (state, nctx) => {
      afterStop(state, nctx);
    },
  });
  dispatch(nactRef, { k: 'init' });

  const self: RunningIncarnation<M> = {
    gen,
    nactRef,
    terminated,
    deliver(msg: M): void {
      post({ k: 'msg', msg });
    },
    shutdown(timeoutMs: number): Promise<'ok' | 'timeout'> {
      if (!alive) return terminated.then(() => 'ok' as const);
      return new Promise((resolve) => {
        const timer = runtime.clock.setTimeout(() => {
          log.warn(
            { event: 'shutdown_timeout', actor: cell.id, gen, timeoutMs },
            'actor did not shut down in time; stopping it',
          );
          self.kill();
          resolve('timeout');
        }, timeoutMs);
        post({
          k: 'shutdown',
          deadline: runtime.clock.monotonic() + timeoutMs,
          done: () => {
            timer.cancel();
            resolve('ok');
          },
        });
      });
    },
    kill(): void {
      if (end() && nactRef) stop(nactRef);
    },
    injectCrash(reason: Error): void {
      post({ k: 'crash', reason });
    },
  };
  return self;
}

export function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : `non-error thrown: ${String(err)}`);
}
