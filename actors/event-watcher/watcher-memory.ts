/**
 * What the event watcher remembers across its restarts (what its incarnations hand on: `ctx.carried`), and the rule
 * that decides whether an event of a labelled container still counts.
 *
 * A resumed stream replays from a margin before the latest handled event, because concurrent containers can reach
 * the stream slightly out of time order. The replay can bring events the watcher never handled because a scan
 * covered them. Applied after newer facts they would mislead the master: an old `start` re-applied after its
 * container's stop was handled resurrects it (the stop is then skipped as handled and the master keeps its routes);
 * an old `die` stops a container the scan found running again. So each labelled container is accounted for up to a
 * Docker time: its latest handled event, or the scan that last found it running or gone. An event not newer than
 * that is skipped.
 */
import type { ContainerInfo, DockerEvent } from '../../domain/container.js';

export interface WatcherMemory {
  /** The latest event time handled; a resumed stream replays from a margin before it. */
  sinceNano: bigint | null;
  /** Streams subscribed so far: after the first, each new one follows a gap the master hears about in full. */
  subscriptions: number;
  /** Recently handled events (id, action, time), oldest first, bounded: a replay repeats them. */
  readonly handled: Set<string>;
  readonly running: Map<string, ContainerInfo>;
  /** Per labelled container, the Docker time up to which it is accounted for. */
  readonly knownUpTo: Map<string, bigint>;
  /** knownUpTo is swept only when it grows past this, so a host with many live containers does not sweep per event. */
  sweepAbove: number;
  /** Swarm mode: the labelled services the master was told run, by service id, as told. */
  readonly services: Map<string, ContainerInfo>;
  /** Swarm mode: per labelled service, the networks (ids, joined) last checked against cloudflared's. */
  readonly networksChecked: Map<string, string>;
  /** Swarm mode: per service not converged, how many looks its current run of looks has had. */
  readonly lookAttempts: Map<string, number>;
  /** Swarm mode: each labelled service's running/desired counts at the last sweep. */
  sweptCounts: Map<string, string>;
  /** Swarm mode: the kind of the last failed look at the services while it lasts (logged once). */
  swarmProblem: string | null;
}

export const REPLAY_MARGIN_NANO = 2_000_000_000n;
const MEMORY_BOUND = 5000;

export function newWatcherMemory(): WatcherMemory {
  return {
    sinceNano: null,
    subscriptions: 0,
    handled: new Set(),
    running: new Map(),
    knownUpTo: new Map(),
    sweepAbove: MEMORY_BOUND,
    services: new Map(),
    networksChecked: new Map(),
    lookAttempts: new Map(),
    sweptCounts: new Map(),
    swarmProblem: null,
  };
}

/** Where a stream resumes: the first incarnation from its scan, a later one from a margin before the last event. */
export function replayFrom(memory: WatcherMemory, scanNano: bigint): bigint {
  return memory.sinceNano === null ? scanNano : memory.sinceNano - REPLAY_MARGIN_NANO;
}

/** Records the event as handled; false if it was (a replay repeats what was already handled). */
export function noteHandled(memory: WatcherMemory, e: DockerEvent): boolean {
  const key = `${e.id}:${e.action}:${e.timeNano}`;
  if (memory.handled.has(key)) return false;
  memory.handled.add(key);
  if (memory.handled.size > MEMORY_BOUND) {
    const oldest = memory.handled.values().next();
    if (!oldest.done) memory.handled.delete(oldest.value);
  }
  if (memory.sinceNano === null || e.timeNano > memory.sinceNano) memory.sinceNano = e.timeNano;
  return true;
}

/** The container is accounted for up to `nano` (a scan found it running, or gone). */
export function knowUpTo(memory: WatcherMemory, id: string, nano: bigint): void {
  memory.knownUpTo.set(id, nano);
}

/**
 * Accounts for an event of a labelled container: false if it is not newer than what is known of the container.
 * `floorNano`: the running incarnation's stream start; what is known from there on is not swept while it runs.
 */
export function accountFor(memory: WatcherMemory, e: DockerEvent, floorNano: bigint): boolean {
  const known = memory.knownUpTo.get(e.id);
  if (known !== undefined && e.timeNano <= known) return false;
  memory.knownUpTo.set(e.id, e.timeNano);
  // A host runs for months: what no stream reaches any more is swept now and then, not only at a restart.
  if (memory.knownUpTo.size > memory.sweepAbove) {
    const limit = e.timeNano - REPLAY_MARGIN_NANO;
    forgetBefore(memory, limit < floorNano ? limit : floorNano);
    memory.sweepAbove = Math.max(MEMORY_BOUND, 2 * memory.knownUpTo.size);
  }
  return true;
}

/**
 * Forgets stopped containers accounted for only before `nano`, which callers keep below every stream start to
 * come (a margin before the latest handled event), so no stream brings an event of them again.
 */
export function forgetBefore(memory: WatcherMemory, nano: bigint): void {
  for (const [id, t] of memory.knownUpTo) if (t < nano && !memory.running.has(id)) memory.knownUpTo.delete(id);
}
