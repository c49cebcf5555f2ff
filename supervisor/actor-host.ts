/**
 * Runs one incarnation of an ActorDef as a nact actor: the one file that runs nact's actors (incarnation.ts,
 * supervisor-steps.ts and tree.ts know only its Ref type and system). Everything nact does not give us per
 * incarnation lives here: the crash path to the supervisor, the handler watchdog, pipe-to-self, timers and an abort
 * signal that die with the incarnation, and handing what others sent it and it has not started back to the cell, so
 * that a restart loses nothing but the message that crashed.
 */
import { dispatch, spawn, stop, type Ref } from 'nact';
import { carryOf, type ActorContext, type Message } from './child-spec.js';
import { crashLoopLevel, repeatsLastCrash } from './crash-loop.js';
import { Timers } from './timers.js';
import {
  asError,
  HandlerTimeoutError,
  isThenable,
  type Envelope,
  type HostState,
  type RunningIncarnation,
  type StartOptions,
} from './incarnation.js';

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

  /**
   * What was posted and has not started: nact takes a message off its mailbox before it runs it, so a stop in
   * between would lose it (the mailbox it hands to afterStop no longer holds it). Kept here, in order, instead.
   */
  let pending: Envelope<M>[] = [];
  /** Takes `env` off the pending list; false if it was not on it (already handed back at the stop). */
  const started = (env: Envelope<M>): boolean => {
    const at = pending.indexOf(env);
    if (at < 0) return false;
    pending.splice(at, 1);
    return true;
  };
  const post = (env: Envelope<M>): void => {
    if (!alive || !nactRef) return;
    pending.push(env);
    dispatch(nactRef, env);
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
    const wasPending = started(env);
    if (!alive) {
      // An ended incarnation that nact still runs (it could not be stopped) does nothing more: the messages others
      // sent it go back to the cell for the next incarnation (unless the stop handed them back already), its own are
      // dropped, a pending shutdown is answered.
      if (wasPending && env.k === 'msg' && env.own !== true) cell.requeue([env.msg]);
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

  const afterStop = (): void => {
    if (handedBack) return;
    handedBack = true;
    const leftover: M[] = [];
    for (const env of pending) {
      if (env.k === 'msg') {
        if (env.own !== true) leftover.push(env.msg);
      } else if (env.k === 'shutdown') env.done();
    }
    pending = [];
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
    afterStop: () => {
      afterStop();
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
