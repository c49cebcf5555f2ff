/**
 * The one way unit specs run an actor definition: as the runtime's host does, without nact. Each `spawn()` is an
 * incarnation: init first, then its mailbox in order, each handler awaited, its timers on the manual clock, its piped
 * work coming back as messages to it. `kill()` ends it as the host does: timers cancelled, signal aborted, release
 * run, a handler already out runs on but what it returns is dropped, and its unread mailbox goes to the next
 * incarnation without the messages it sent itself. What the definition carries (ActorDef.carry) is made once and
 * handed to every incarnation, as the runtime's cell does. What a spec did not set up fails loudly.
 */
import type { Logger } from '../../log/logger.js';
import { callbackRef } from '../../supervisor/actor-ref.js';
import { carryOf, type ActorContext, type ActorDef, type Message } from '../../supervisor/child-spec.js';
import { Timers } from '../../supervisor/timers.js';
import type { ManualClock } from './manual-clock.js';

/** A stand-in that fails the spec when called: for what an actor under test must not use. */
export const failing = (owner: string, what: string) => (): never => {
  throw new Error(`${owner}: unexpected ${what}`);
};

type Letter<M> =
  | {
      readonly msg: M;
      /** Sent by the incarnation to itself (a timer, a piped result, a stream callback): it dies with it. */
      readonly own: boolean;
    }
  /** The incarnation asked for its restart: queued behind what waits, as the host queues it. */
  | { readonly restart: string; readonly own: true };

export interface Incarnation<S, M extends Message, C> {
  readonly gen: number;
  readonly ctx: ActorContext<M, C>;
  readonly mailbox: Letter<M>[];
  readonly abort: AbortController;
  /** Settles when init has: the state is set then, or the incarnation crashed. */
  readonly initialised: Promise<void>;
  state: S | undefined;
  alive: boolean;
  /** A handler is out: the host runs one at a time, so nothing else is handled meanwhile. */
  busy: boolean;
}

export interface DriverOptions {
  name: string;
  log: Logger;
  clock: ManualClock;
  /**
   * A crash (a throw, a rejected init or unmapped pipe) always ends the incarnation; 'throw' (the default) also
   * fails the spec's next settle, 'kill' only counts it in `crashes` (a spec that provokes crashes).
   */
  onCrash?: 'kill' | 'throw';
  /** A killed incarnation's own messages go to the next one too: a harder case than the host's, for model specs. */
  handOnOwnMessages?: boolean;
  restartSelf?: (reason: string) => void;
}

export class ActorDriver<S, M extends Message, C = undefined> {
  /** Made once, the same for every incarnation (the runtime keeps it on the cell). */
  readonly carried: C;
  readonly crashes: unknown[] = [];
  private current: Incarnation<S, M, C> | null = null;
  /** Messages that arrived while no incarnation ran, or that a killed one left unread. */
  private stash: Letter<M>[] = [];
  private pending = 0;
  private gen = 0;
  private failure: { err: unknown } | undefined;

  constructor(
    private readonly def: ActorDef<S, M, C>,
    private readonly opts: DriverOptions,
  ) {
    const carry = carryOf(def);
    this.carried = carry ? carry() : (undefined as C);
  }

  get incarnation(): Incarnation<S, M, C> | null {
    return this.current;
  }

  get alive(): boolean {
    return this.current !== null;
  }

  /** The running incarnation's state; fails if none runs or its init has not finished. */
  get state(): S {
    const s = this.current?.state;
    if (s === undefined) throw new Error(`${this.opts.name}: no initialised incarnation`);
    return s;
  }

  /** Starts a new incarnation; its init runs on (await `initialised`, or use `start`). */
  spawn(): Incarnation<S, M, C> {
    if (this.current) throw new Error(`${this.opts.name}: an incarnation is still running`);
    const abort = new AbortController();
    const mailbox = this.stash;
    this.stash = [];
    const gen = ++this.gen;
    const own = (msg: M): void => {
      if (inc.alive) inc.mailbox.push({ msg, own: true });
    };
    const fail = (what: string): (() => never) => failing(`${this.opts.name} context`, what);
    const ctx: ActorContext<M, C> = {
      self: callbackRef(this.opts.name, (msg: M) => {
        this.tell(msg);
      }),
      name: this.opts.name,
      gen,
      log: this.opts.log,
      clock: this.opts.clock,
      signal: abort.signal,
      timers: new Timers(this.opts.clock, own),
      carried: this.carried,
      pipe: (work, onOk, onErr) => {
        this.pending++;
        // A mapping that throws is a crash, as in the host.
        const deliver = (map: () => M): void => {
          try {
            own(map());
          } catch (err) {
            if (inc.alive) this.crash(inc, err);
          }
        };
        work
          .then(
            (value) => {
              deliver(() => onOk(value));
            },
            (err: unknown) => {
              if (onErr) deliver(() => onErr(err));
              else if (inc.alive) this.crash(inc, err);
            },
          )
          .finally(() => {
            this.pending--;
          });
      },
      stopSelf: fail('stopSelf'),
      restartSelf: (reason) => {
        if (!this.opts.restartSelf) fail('restartSelf')();
        if (inc.alive) inc.mailbox.push({ restart: reason, own: true });
      },
      toSelf: own,
      runtimeHandle: null,
    };
    const inc: Incarnation<S, M, C> = {
      gen,
      ctx,
      mailbox,
      abort,
      state: undefined,
      alive: true,
      busy: false,
      initialised: Promise.resolve()
        .then(() => this.def.init(ctx))
        .then(
          (s) => {
            // An incarnation killed during its init was released then, without a state, as the host does.
            if (inc.alive) inc.state = s;
          },
          (err: unknown) => {
            if (inc.alive) this.crash(inc, err);
          },
        ),
    };
    this.current = inc;
    return inc;
  }

  /** A new incarnation with its init done and what it brought handled. */
  async start(): Promise<void> {
    await this.spawn().initialised;
    this.rethrow();
    await this.settle();
  }

  /** Ends the running incarnation as the host does. */
  kill(inc: Incarnation<S, M, C> | null = this.current): void {
    if (!inc?.alive) return;
    inc.alive = false;
    inc.ctx.timers.close();
    inc.abort.abort(new Error(`${this.opts.name} gen ${inc.gen} killed`));
    try {
      this.def.release?.(inc.state, inc.ctx);
    } catch (err) {
      this.crashes.push(err);
      if (this.opts.onCrash !== 'kill') this.failure ??= { err };
    }
    const kept = this.opts.handOnOwnMessages ? inc.mailbox : inc.mailbox.filter((l) => !l.own);
    this.stash = [...kept, ...this.stash];
    inc.mailbox.length = 0;
    if (this.current === inc) this.current = null;
  }

  /** What another actor sends: to the running incarnation, or kept for the next. */
  tell(msg: M): void {
    (this.current ? this.current.mailbox : this.stash).push({ msg, own: false });
  }

  async send(msg: M): Promise<void> {
    this.tell(msg);
    await this.settle();
  }

  /** Handles the next message of an initialised incarnation; false if there is none it can handle now. */
  async handleOne(inc: Incarnation<S, M, C> | null = this.current): Promise<boolean> {
    if (inc?.state === undefined || !inc.alive || inc.busy) return false;
    const letter = inc.mailbox.shift();
    if (letter === undefined) return false;
    if ('restart' in letter) {
      // The host ends the incarnation here (release, others' messages handed on) and the supervisor restarts it.
      this.kill(inc);
      this.opts.restartSelf?.(letter.restart);
      return true;
    }
    const handler = this.def.handlers[letter.msg.type as M['type']] as (
      s: S,
      m: M,
      c: ActorContext<M, C>,
    ) => S | Promise<S>;
    inc.busy = true;
    try {
      const next = await handler(inc.state, letter.msg, inc.ctx);
      if (inc.alive) inc.state = next;
    } catch (err) {
      if (inc.alive) this.crash(inc, err);
    } finally {
      inc.busy = false;
    }
    return true;
  }

  /**
   * Handles what the running incarnation has, and what its piped work brings, until nothing is in flight. Returns
   * early when that incarnation ends, or when a handler of it is already out (whoever awaits that one goes on).
   */
  async settle(): Promise<void> {
    const inc = this.current;
    for (;;) {
      while (await this.handleOne(inc)) this.rethrow();
      this.rethrow();
      if (inc === null || !inc.alive || inc.busy) return;
      if (this.pending === 0 && inc.mailbox.length === 0) return;
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
    }
  }

  /**
   * Handles what there is for `count` rounds of the event loop, letting quick replies arrive; unlike `settle`, it does
   * not wait for piped work the spec holds back (a request whose answer it gives later).
   */
  async turns(count = 20): Promise<void> {
    for (let turn = 0; turn < count; turn++) {
      while (await this.handleOne()) this.rethrow();
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
    }
    this.rethrow();
  }

  /** Moves the clock by `ms`, stopping at each due timer to handle what it sent. */
  advance(ms: number): Promise<void> {
    return this.opts.clock.advanceSettling(ms, () => this.settle());
  }

  /** A crash ends the incarnation; unless the spec expects crashes, the next `settle` or `start` fails with it. */
  private crash(inc: Incarnation<S, M, C>, err: unknown): void {
    this.crashes.push(err);
    this.kill(inc);
    if (this.opts.onCrash !== 'kill') this.failure ??= { err };
  }

  private rethrow(): void {
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure.err;
  }
}
