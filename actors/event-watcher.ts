/**
 * EventWatcher: labelled containers coming and going (protocol.md §5.6). At start it scans, reconciles with what
 * it reported before (containers that started or vanished while it was away), then follows Docker's event stream
 * from the last event it handled. Any break of the stream is a crash, so the supervisor re-subscribes with
 * backoff; the memory of what is running and of the last event survives restarts, so across the gap nothing is
 * lost, nothing is reported twice (a die followed by a stop is one container_stop), and no old event contradicts
 * what the master was told since.
 */
import { filterLabels, isManaged } from '../lib/labels.js';
import { masterTimestamp } from '../lib/master/envelope.js';
import type { DockerPort, EventSubscription } from '../lib/docker/port.js';
import { MANAGED_LABEL, TUNNEL_CONTAINER } from '../lib/docker/tunnel-container.js';
import type { ContainerInfo, DockerEvent, EventWatcherMsg } from '../messages/docker.js';
import { reporterEnqueue, reporterReportNow, type ReporterMsg } from '../messages/reporter.js';
import { TUNNEL_WATCHED_ACTIONS, tunnelContainerEvent, type TunnelKeeperMsg } from '../messages/tunnel.js';
import { tell, type ActorRef } from '../supervisor/actor-ref.js';
import type { ActorDef } from '../supervisor/child-spec.js';

/** Kept by the composition root across restarts of the watcher. */
export interface WatcherMemory {
  /** The latest event time handled; a resumed stream replays from a little before it. */
  sinceNano: bigint | null;
  /** Recently handled events (id, action, time), oldest first, bounded. */
  readonly handled: Set<string>;
  readonly running: Map<string, ContainerInfo>;
  /**
   * Per labelled container, the Docker time up to which the watcher has accounted for it: its latest handled event,
   * or the scan that last found it running or gone. An event not newer than that is history already told (or, for
   * a scan, already reflected in what the scan told) and is skipped.
   */
  readonly knownUpTo: Map<string, bigint>;
}

export function newWatcherMemory(): WatcherMemory {
  return { sinceNano: null, handled: new Set(), running: new Map(), knownUpTo: new Map() };
}

/**
 * Concurrent containers can reach the stream slightly out of time order, so a resumed stream replays from a
 * margin before the latest handled event. Replayed events already handled are recognised by identity and skipped.
 * For a labelled container, an event not newer than what the watcher knows of it is skipped too: re-applied after
 * a scan or a later event, an old `start` would resurrect a container whose stop was handled (its stop is then
 * skipped as handled, and the master keeps its routes), an old `die` would stop one the scan found running again.
 * What the replay still tells is the history of containers no scan saw (started and stopped in the gap), the
 * tunnel container's events of the gap, and everything after the scan.
 */
const REPLAY_MARGIN_NANO = 2_000_000_000n;
const HANDLED_MEMORY = 5000;

/** Forgets what no stream can bring again: streams from `sinceNano` on bring only newer events, older ones are skipped. */
function forgetBefore(memory: WatcherMemory, sinceNano: bigint): void {
  for (const [id, t] of memory.knownUpTo) if (t < sinceNano && !memory.running.has(id)) memory.knownUpTo.delete(id);
}
const eventKey = (e: DockerEvent): string => `${e.id}:${e.action}:${e.timeNano}`;

function noteHandled(memory: WatcherMemory, e: DockerEvent): boolean {
  const key = eventKey(e);
  if (memory.handled.has(key)) return false;
  memory.handled.add(key);
  if (memory.handled.size > HANDLED_MEMORY) {
    const oldest = memory.handled.values().next();
    if (!oldest.done) memory.handled.delete(oldest.value);
  }
  if (memory.sinceNano === null || e.timeNano > memory.sinceNano) memory.sinceNano = e.timeNano;
  return true;
}

export interface EventWatcherDeps {
  docker: DockerPort;
  reporter: ActorRef<ReporterMsg>;
  tunnelKeeper: ActorRef<TunnelKeeperMsg>;
  memory: WatcherMemory;
}

export interface EventWatcherState {
  subscription: EventSubscription | null;
  /**
   * Where this incarnation's stream starts. From here on it brings every event of a container in order; an older
   * one can only come from an earlier incarnation's unread mailbox, without the rest of its story (the stop that
   * followed a start may have been lost with that stream), and the scan already reflects it.
   */
  replayFromNano: bigint;
}

export class EventStreamEnded extends Error {
  override readonly name = 'EventStreamEnded';
}

const STOP_ACTIONS = new Set(['die', 'stop', 'destroy']);
/**
 * Docker drops everything else before it reaches us: create, kill, attach, exec_* and every other action of every
 * container on the host (a container with a HEALTHCHECK alone emits exec_create, exec_start and exec_die each
 * interval), none of which the agent uses, each costing a decode here.
 */
const SUBSCRIBED_ACTIONS: readonly string[] = [...new Set(['start', ...STOP_ACTIONS, ...TUNNEL_WATCHED_ACTIONS])];

export function eventWatcherDef(deps: EventWatcherDeps): ActorDef<EventWatcherState, EventWatcherMsg> {
  const { memory } = deps;
  const started = (c: ContainerInfo, ms: number): void => {
    memory.running.set(c.id, c);
    tell(deps.reporter, reporterEnqueue({ type: 'container_start', container: c, timestamp: masterTimestamp(ms) }));
  };
  const stopped = (id: string, ms: number): void => {
    const known = memory.running.get(id);
    if (!known) return;
    memory.running.delete(id);
    tell(deps.reporter, reporterEnqueue({ type: 'container_stop', container: { ...known, status: 'exited' }, timestamp: masterTimestamp(ms) }));
  };

  return {
    async init(ctx) {
      const resumed = memory.sinceNano !== null;
      // Replay from just before the scan: what happens between scan and subscription is then not lost. Docker
      // stamps an event after the change it reports, so one stamped before this moment is in the scan's result;
      // that holds while the agent and Docker read the same clock, as they do on one host (also via the proxy).
      const scanNano = BigInt(ctx.clock.now()) * 1_000_000n;
      const containers = await deps.docker.listManagedContainers(ctx.signal);
      const now = ctx.clock.now();
      const seen = new Set<string>();
      for (const c of containers) {
        seen.add(c.id);
        memory.knownUpTo.set(c.id, scanNano);
        if (!memory.running.has(c.id)) started(c, now);
      }
      for (const id of [...memory.running.keys()]) {
        if (seen.has(id)) continue;
        memory.knownUpTo.set(id, scanNano);
        stopped(id, now);
      }
      const since = memory.sinceNano === null ? scanNano : memory.sinceNano - REPLAY_MARGIN_NANO;
      // A later incarnation replays from the last handled event less the margin; the first one handled may be as
      // old as this since, so only what is older than since less the margin is out of every replay's reach.
      forgetBefore(memory, since - REPLAY_MARGIN_NANO);
      const subscription = await deps.docker.subscribeEvents(since, SUBSCRIBED_ACTIONS, {
        onEvent: (event) => { ctx.toSelf({ type: 'watcher.event', event }); },
        onEnd: (reason) => { ctx.toSelf({ type: 'watcher.stream-ended', reason }); },
      }, ctx.signal);
      ctx.log.info({ event: 'event_stream_subscribed', resumed, managedRunning: memory.running.size }, 'following Docker events');
      // After a gap the master gets the whole inventory at once (protocol.md §5.6).
      if (resumed) tell(deps.reporter, reporterReportNow());
      return { subscription, replayFromNano: since };
    },

    handlers: {
      'watcher.event'(state, msg) {
        const e = msg.event;
        if (!noteHandled(memory, e)) return state;
        const ms = Number(e.timeNano / 1_000_000n);
        if (e.attributes.name === TUNNEL_CONTAINER || e.attributes[MANAGED_LABEL] === 'true') {
          // The keeper's own check is not part of the scan: what happened to the tunnel in the gap still counts.
          tell(deps.tunnelKeeper, tunnelContainerEvent(e.action, e.id));
          return state;
        }
        const managed = isManaged(e.attributes);
        if (!managed && !memory.running.has(e.id)) return state;
        const known = memory.knownUpTo.get(e.id);
        if (known !== undefined && e.timeNano <= known) return state;
        memory.knownUpTo.set(e.id, e.timeNano);
        // A host runs for months: what no replay reaches is dropped now and then, not only at a restart.
        if (memory.knownUpTo.size > HANDLED_MEMORY) forgetBefore(memory, e.timeNano - REPLAY_MARGIN_NANO);
        // Reflected in the scan, and maybe without the rest of its story: not applied, but still accounted for, so
        // that an older event of the same container (a start before this stop) is not applied later either.
        if (e.timeNano < state.replayFromNano) return state;
        if (e.action === 'start') {
          if (!memory.running.has(e.id) && managed) {
            started({ id: e.id, name: e.attributes.name ?? '', status: 'running', labels: filterLabels(e.attributes) }, ms);
          }
        } else if (STOP_ACTIONS.has(e.action)) {
          stopped(e.id, ms);
        }
        return state;
      },

      'watcher.stream-ended'(_state, msg) {
        throw new EventStreamEnded(`Docker event stream broke: ${msg.reason}`);
      },
    },

    release(state) {
      state?.subscription?.close();
    },
  };
}
