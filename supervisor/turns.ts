/**
 * One operation at a time across an actor's incarnations. A killed incarnation's call runs on (nact cannot stop a
 * handler half-way, and some calls are not aborted on purpose), so the next incarnation's operation waits for it.
 * An actor keeps its `Turns` in what it carries (ActorDef.carry), so every incarnation takes its turn on one chain.
 */
import { settlesWithin, type Clock } from './clock.js';

export interface Turns {
  /** Settles when the latest operation has ended, whichever incarnation started it. */
  busy: Promise<void>;
}

export const newTurns = (): Turns => ({ busy: Promise.resolve() });

/**
 * Runs `work` once the operation before it has ended, or once `maxWaitMs` has passed (`onSlow` then says so): a
 * call that is never answered must not stop the actor for good.
 */
export async function inTurn<T>(
  turns: Turns,
  clock: Clock,
  maxWaitMs: number,
  onSlow: () => void,
  work: () => Promise<T>,
): Promise<T> {
  const before = turns.busy;
  let release: () => void = () => undefined;
  turns.busy = new Promise<void>((resolve) => {
    release = resolve;
  });
  try {
    if (!(await settlesWithin(before, clock, maxWaitMs))) onSlow();
    return await work();
  } finally {
    release();
  }
}
