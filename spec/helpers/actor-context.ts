import type { Logger } from '../../log/logger.js';
import { callbackRef } from '../../supervisor/actor-ref.js';
import type { ActorContext, Message } from '../../supervisor/child-spec.js';
import { Timers } from '../../supervisor/timers.js';
import type { ManualClock } from './manual-clock.js';

/** A stand-in that fails the spec when called: for what an actor under test must not use. */
export const failing = (owner: string, what: string) => (): never => {
  throw new Error(`${owner}: unexpected ${what}`);
};

/**
 * The context an actor's definition gets from the host, for driving a definition directly in a unit spec: its own
 * messages (toSelf, self, timers on the manual clock) go to `toSelf`; pipe, stopSelf and restartSelf fail loudly
 * unless the spec gives a pipe or a restartSelf.
 */
export function actorContext<M extends Message>(opts: {
  name: string;
  gen?: number;
  log: Logger;
  clock: ManualClock;
  toSelf: (msg: M) => void;
  signal?: AbortSignal;
  pipe?: ActorContext<M>['pipe'];
  restartSelf?: ActorContext<M>['restartSelf'];
}): ActorContext<M> {
  const fail = (what: string): (() => never) => failing(`${opts.name} context`, what);
  return {
    self: callbackRef(opts.name, opts.toSelf),
    name: opts.name,
    gen: opts.gen ?? 1,
    log: opts.log,
    clock: opts.clock,
    signal: opts.signal ?? new AbortController().signal,
    timers: new Timers(opts.clock, opts.toSelf),
    pipe: opts.pipe ?? fail('pipe'),
    stopSelf: fail('stopSelf'),
    restartSelf: opts.restartSelf ?? fail('restartSelf'),
    toSelf: opts.toSelf,
    runtimeHandle: null,
  };
}
