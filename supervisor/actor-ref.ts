/**
 * Typed references over nact (supervisor/README.md). nact's `Ref<T>` is an empty class, so any message type-checks
 * against any ref; here a ref is contravariant in its message type and `tell` only accepts what it declares.
 *
 * A ref names an ActorCell: the stable address of one supervised actor across all its incarnations. While an
 * incarnation runs, the cell forwards to it; while the actor backs off, the cell stashes (bounded, overflow
 * counted); once the actor is stopped for good, what arrives is a counted dead letter.
 */
const DELIVER: unique symbol = Symbol('supervisor.deliver');

export interface ActorRef<in M> {
  readonly path: string;
  readonly [DELIVER]: (msg: M) => void;
}

export function tell<M>(ref: ActorRef<M>, msg: NoInfer<M>): void {
  ref[DELIVER](msg);
}

/** A ref that hands messages to a function: replies to code outside the actor system (main, tests, HTTP). */
export function callbackRef<M>(path: string, fn: (msg: M) => void): ActorRef<M> {
  return { path, [DELIVER]: fn };
}

/** Asks an actor and waits for one reply, or rejects after `timeoutMs`. */
export function ask<Req, Res>(
  ref: ActorRef<Req>,
  make: (replyTo: ActorRef<Res>) => NoInfer<Req>,
  timeoutMs: number,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`ask ${ref.path} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    tell(
      ref,
      make(
        callbackRef<Res>(`${ref.path}/$ask`, (res) => {
          clearTimeout(timer);
          resolve(res);
        }),
      ),
    );
  });
}

export type ActorStatus = 'starting' | 'running' | 'backing_off' | 'stopped' | 'failed';

export interface CrashInfo {
  at: number;
  reason: string;
  msgType: string | undefined;
}

/** What the supervisor plugs into a cell while an incarnation runs. */
export interface Incarnation<M> {
  readonly gen: number;
  deliver(msg: M): void;
}

export type DropCause = 'stash_overflow' | 'dead_letter';

/** The counters of a cell, independent of its message type: what health snapshots and drop logging read. */
export interface CellView {
  readonly id: string;
  readonly status: ActorStatus;
  readonly gen: number;
  readonly startedAt: number | undefined;
  readonly restartsTotal: number;
  readonly crashTimes: readonly number[];
  readonly windowMs: number;
  readonly maxBackoffMs: number | null;
  readonly backoffMs: number | null;
  readonly restartAt: number | null;
  readonly lastCrash: CrashInfo | undefined;
  /** The last crash that was not a chaos kill: what a crash loop is made of. */
  readonly lastFailure: CrashInfo | undefined;
  /** Uptime after which a crash no longer continues a crash loop: the backoff's reset time (0: never a loop). */
  readonly resetAfterMs: number;
  /** Crashes in a row that repeated the one before within a crash loop (crash-loop.ts); 0 outside a loop. */
  readonly repeatCrashes: number;
  /** When the current crash loop's first crash happened; on the cell so that it survives its supervisor's restart. */
  readonly crashLoopSince: number | null;
  readonly processed: number;
  readonly dropped: number;
  readonly stashed: number;
  readonly pendingDrops: Map<DropCause, number>;
  /** Drops in the current episode, by cause: the registry logs the 1st, 10th, 100th … of an episode. */
  readonly episodeDrops: Map<DropCause, number>;
}

/**
 * Health counters live on the cell, so they survive restarts and one snapshot of all cells is the tree's health.
 */
export class ActorCell<M, C = undefined> implements ActorRef<M>, CellView {
  status: ActorStatus = 'starting';
  gen = 0;
  startedAt: number | undefined;
  restartsTotal = 0;
  crashTimes: number[] = [];
  backoffMs: number | null = null;
  restartAt: number | null = null;
  lastCrash: CrashInfo | undefined;
  lastFailure: CrashInfo | undefined;
  resetAfterMs = 0;
  repeatCrashes = 0;
  crashLoopSince: number | null = null;
  processed = 0;
  /** The restart-intensity period of this actor's supervisor, for `restartsInWindow`. */
  windowMs = 60_000;
  /** The cap of this actor's restart delay; a backoff at the cap means it keeps failing. */
  maxBackoffMs: number | null = null;
  dropped = 0;
  /** Drops since the last report, by cause; the owner logs and clears them. */
  readonly pendingDrops = new Map<DropCause, number>();
  /** Drops of the current episode (until the actor starts again), by cause, for thinning the log lines. */
  readonly episodeDrops = new Map<DropCause, number>();

  private current: Incarnation<M> | undefined;
  private stash: M[] = [];
  private carriedValue: { readonly value: C } | undefined;

  constructor(
    readonly id: string,
    readonly path: string,
    readonly stashCapacity: number,
    private readonly onDrop: (cell: CellView, cause: DropCause) => void,
  ) {}

  readonly [DELIVER] = (msg: M): void => {
    if (this.current) {
      this.current.deliver(msg);
    } else if (this.status === 'stopped' || this.status === 'failed') {
      this.drop('dead_letter');
    } else if (this.stash.length < this.stashCapacity) {
      this.stash.push(msg);
    } else {
      this.drop('stash_overflow');
    }
  };

  /**
   * What the actor's incarnations hand on to each other: made by `make` for the first incarnation, the same value
   * for every one after it (ActorDef.carry). Kept on the cell, which outlives every incarnation and supervisor.
   */
  carry(make: (() => C) | undefined): C {
    this.carriedValue ??= { value: make ? make() : (undefined as C) };
    return this.carriedValue.value;
  }

  /** The carried value, for the owner's teardown; undefined before the first incarnation. */
  get carried(): C | undefined {
    return this.carriedValue?.value;
  }

  get stashed(): number {
    return this.stash.length;
  }

  /** Connects a new incarnation and hands it the stash, in arrival order. */
  bind(incarnation: Incarnation<M>): void {
    this.current = incarnation;
    const pending = this.stash;
    this.stash = [];
    for (const msg of pending) incarnation.deliver(msg);
  }

  /**
   * Empties the stash and returns it: for the owner's teardown at shutdown, when the actor will not run again to
   * read what was kept for it (the Reporter's queued events go to the outbox that way).
   */
  takeStash(): M[] {
    const taken = this.stash;
    this.stash = [];
    return taken;
  }

  /** Disconnects the incarnation `gen` (a stale gen is ignored); later messages are stashed. */
  unbind(gen: number): void {
    if (this.current?.gen === gen) this.current = undefined;
  }

  /**
   * Messages still queued in a stopped incarnation's mailbox go back in front of the stash: they arrived before
   * anything stashed since. If a newer incarnation is already bound they go to it directly.
   */
  requeue(messages: readonly M[]): void {
    if (messages.length === 0) return;
    if (this.current) {
      for (const msg of messages) this.current.deliver(msg);
      return;
    }
    if (this.status === 'stopped' || this.status === 'failed') {
      for (let i = 0; i < messages.length; i++) this.drop('dead_letter');
      return;
    }
    const room = Math.max(0, this.stashCapacity - this.stash.length);
    const kept = messages.slice(0, room);
    for (let i = room; i < messages.length; i++) this.drop('stash_overflow');
    this.stash = [...kept, ...this.stash];
  }

  private drop(cause: DropCause): void {
    this.dropped++;
    this.pendingDrops.set(cause, (this.pendingDrops.get(cause) ?? 0) + 1);
    this.onDrop(this, cause);
  }
}

/** A ref that converts what it receives and passes it on: a reply of type A arrives at `target` as a B. */
export function adaptRef<A, B>(target: ActorRef<B>, convert: (a: A) => NoInfer<B>): ActorRef<A> {
  return callbackRef<A>(`${target.path}/$adapter`, (a) => {
    tell(target, convert(a));
  });
}
