/**
 * EventWatcher: labelled containers coming and going (protocol.md §5.6). At start it scans, reconciles with what
 * it reported before (containers that started or vanished while it was away), then follows Docker's event stream
 * from the last event it handled. Any break of the stream is a crash, so the supervisor re-subscribes with
 * backoff; the memory of what is running and of the last event survives restarts, so across the gap nothing is
 * lost and nothing is reported twice (a die followed by a stop is one container_stop).
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
}

export function newWatcherMemory(): WatcherMemory {
  return { sinceNano: null, handled: new Set(), running: new Map() };
}

/**
 * Concurrent containers can reach the stream slightly out of time order, so a resumed stream replays from a
 * margin before the latest handled event. Replayed events already handled are recognised by identity and skipped;
 * those of labelled containers from before the scan are skipped too, as the scan already reflects them (an old
 * `start` re-applied after its container's stop was handled would resurrect it). What the replay still brings is
 * the tunnel container's events of the gap, and everything between the scan and the subscription.
 */
const REPLAY_MARGIN_NANO = 2_000_000_000n;
const HANDLED_MEMORY = 5000;
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
   * When this incarnation's scan went out. A container event from before it is already in the scan's result;
   * applying it after the scan (a replayed die of an earlier run of a container that is running again, a start
   * the scan saw end) would tell the master a state the container left long ago.
   */
  scanNano: bigint;
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
        if (!memory.running.has(c.id)) started(c, now);
      }
      for (const id of [...memory.running.keys()]) if (!seen.has(id)) stopped(id, now);
      const since = memory.sinceNano === null ? scanNano : memory.sinceNano - REPLAY_MARGIN_NANO;
      const subscription = await deps.docker.subscribeEvents(since, SUBSCRIBED_ACTIONS, {
        onEvent: (event) => { ctx.toSelf({ type: 'watcher.event', event }); },
        onEnd: (reason) => { ctx.toSelf({ type: 'watcher.stream-ended', reason }); },
      }, ctx.signal);
      ctx.log.info({ event: 'event_stream_subscribed', resumed, managedRunning: memory.running.size }, 'following Docker events');
      // After a gap the master gets the whole inventory at once (protocol.md §5.6).
      if (resumed) tell(deps.reporter, reporterReportNow());
      return { subscription, scanNano };
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
        if (e.timeNano < state.scanNano) return state;
        if (e.action === 'start') {
          if (!memory.running.has(e.id) && isManaged(e.attributes)) {
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
