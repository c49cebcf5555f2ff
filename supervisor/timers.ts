/**
 * An actor's timers. Timers only deliver messages to the incarnation that set them, and all of them are cancelled
 * when that incarnation stops, so nothing fires into a dead or restarted actor (nact's `reset` leaks them).
 */
import type { Clock, TimerHandle } from './clock.js';

export class Timers<M> {
  private readonly active = new Map<string, TimerHandle>();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly deliver: (msg: M) => void,
  ) {}

  /** Sends `msg` once after `delayMs`; a timer with the same key is replaced. */
  once(key: string, delayMs: number, msg: M): void {
    if (this.closed) return;
    this.cancel(key);
    const handle = this.clock.setTimeout(() => {
      this.active.delete(key);
      if (!this.closed) this.deliver(msg);
    }, delayMs);
    this.active.set(key, handle);
  }

  cancel(key: string): void {
    this.active.get(key)?.cancel();
    this.active.delete(key);
  }

  has(key: string): boolean {
    return this.active.has(key);
  }

  get size(): number {
    return this.active.size;
  }

  /** Cancels everything and refuses new timers. */
  close(): void {
    this.closed = true;
    for (const handle of this.active.values()) handle.cancel();
    this.active.clear();
  }
}
