import type { DockerPort, EventHandlers, EventSubscription } from '../../docker/port.js';
import type { ContainerInfo, DockerEvent } from '../../domain/container.js';
import type { ManualClock } from './manual-clock.js';

/** Docker keeps this many events for `since` replays (daemon/events/events.go, eventsLimit). */
const REPLAY_BUFFER = 256;

interface Subscription {
  readonly queue: DockerEvent[];
  closed: boolean;
  readonly handlers: EventHandlers;
  readonly actions: readonly string[];
}
interface PendingList {
  resolve: (list: ContainerInfo[]) => void;
  reject: (err: Error) => void;
  done: boolean;
}

/**
 * A Docker daemon reduced to what the event watcher sees: containers that start and stop, an event log with
 * Docker's replay buffer, streams that deliver in order but only when a spec says so, and container lists that
 * are answered when a spec says so (so events can happen while a scan is out). Everything else fails loudly.
 */
export class DockerEventModel {
  readonly running = new Map<string, Record<string, string>>();
  /** How often each container really started, and when first. */
  readonly starts = new Map<string, number>();
  readonly firstStartNano = new Map<string, bigint>();
  private readonly log: DockerEvent[] = [];
  private readonly subs: Subscription[] = [];
  private readonly lists: PendingList[] = [];
  private nanoTick = 0n;

  constructor(private readonly clock: ManualClock) {}

  start(id: string, labels: Record<string, string>): void {
    this.running.set(id, labels);
    this.starts.set(id, (this.starts.get(id) ?? 0) + 1);
    const e = this.emit('start', id, labels);
    if (!this.firstStartNano.has(id)) this.firstStartNano.set(id, e.timeNano);
  }

  stop(id: string): void {
    const labels = this.running.get(id);
    if (!labels) throw new Error(`model: ${id} is not running`);
    this.running.delete(id);
    this.emit('die', id, labels);
    this.emit('stop', id, labels);
  }

  /**
   * Events nobody subscribes to (a healthcheck's exec_* of an unlabelled container): they push older events out of
   * Docker's replay buffer.
   */
  noise(count: number): void {
    for (let i = 0; i < count; i++) this.emit('exec_start', 'unlabelled', {});
  }

  /** Streams with an event on its way; lists waiting for an answer. */
  get deliverable(): number {
    return this.subs.filter((s) => !s.closed && s.queue.length > 0).length;
  }
  get listsOut(): number {
    return this.lists.filter((l) => !l.done).length;
  }

  /** Delivers the next event of the first stream that has one. */
  deliverOne(): boolean {
    const sub = this.subs.find((s) => !s.closed && s.queue.length > 0);
    if (!sub) return false;
    sub.handlers.onEvent(sub.queue.shift()!);
    return true;
  }

  /** Answers the oldest open container list with the state of this moment. */
  answerList(): boolean {
    const pending = this.lists.find((l) => !l.done);
    if (!pending) return false;
    pending.done = true;
    pending.resolve([...this.running].map(([id, labels]) => ({ id, name: `c-${id}`, status: 'running', labels })));
    return true;
  }

  port(): DockerPort {
    const unexpected = (what: string) => (): never => {
      throw new Error(`fake Docker: unexpected call ${what}`);
    };
    return {
      listManagedContainers: (signal?: AbortSignal) =>
        new Promise<ContainerInfo[]>((resolve, reject) => {
          const pending: PendingList = { resolve, reject, done: false };
          signal?.addEventListener(
            'abort',
            () => {
              if (!pending.done) {
                pending.done = true;
                reject(new Error('aborted'));
              }
            },
            { once: true },
          );
          this.lists.push(pending);
        }),
      subscribeEvents: (
        sinceNano: bigint | null,
        actions: readonly string[],
        handlers: EventHandlers,
        signal?: AbortSignal,
      ): Promise<EventSubscription> => {
        if (sinceNano === null) throw new Error('fake Docker: the watcher always subscribes with a since');
        // Docker's since has the port's millisecond precision, less its 1 ms margin.
        const fromNano = (sinceNano / 1_000_000n - 1n) * 1_000_000n;
        const replay = this.log
          .slice(-REPLAY_BUFFER)
          .filter((e) => e.timeNano >= fromNano && actions.includes(e.action));
        const sub: Subscription = { queue: replay, closed: false, handlers, actions };
        this.subs.push(sub);
        const close = (): void => {
          sub.closed = true;
        };
        // As the real port: a subscription made for an incarnation already ended is closed at once.
        if (signal?.aborted) close();
        else signal?.addEventListener('abort', close, { once: true });
        return Promise.resolve({ close });
      },
      inspectContainer: unexpected('inspectContainer'),
      imageExists: unexpected('imageExists'),
      pullImage: unexpected('pullImage'),
      networkExists: unexpected('networkExists'),
      createNetwork: unexpected('createNetwork'),
      createAndStart: unexpected('createAndStart'),
      stopContainer: unexpected('stopContainer'),
      stopAndRemove: unexpected('stopAndRemove'),
      logTail: unexpected('logTail'),
    };
  }

  private emit(action: string, id: string, labels: Record<string, string>): DockerEvent {
    // Docker's times are unique in practice: nanoseconds within the clock's millisecond.
    const e: DockerEvent = {
      action,
      id,
      attributes: { ...labels, name: `c-${id}` },
      timeNano: BigInt(this.clock.now()) * 1_000_000n + (this.nanoTick++ % 1_000_000n),
    };
    this.log.push(e);
    for (const s of this.subs) if (!s.closed && s.actions.includes(action)) s.queue.push(e);
    return e;
  }
}
