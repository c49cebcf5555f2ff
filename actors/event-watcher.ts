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
import { tunnelContainerEvent, type TunnelKeeperMsg } from '../messages/tunnel.js';
import { tell, type ActorRef } from '../supervisor/actor-ref.js';
import type { ActorDef } from '../supervisor/child-spec.js';

/** Kept by the composition root across restarts of the watcher. */
export interface WatcherMemory {
  /** Time of the last event handled (the resume point), and which events at exactly that time were handled. */
  sinceNano: bigint | null;
  handledAtSince: Set<string>;
  readonly running: Map<string, ContainerInfo>;
}

export function newWatcherMemory(): WatcherMemory {
  return { sinceNano: null, handledAtSince: new Set(), running: new Map() };
}

/**
 * Docker's `since` replays from a point slightly before the last handled event. Replayed events already handled
 * must be skipped, not re-applied: after the scan has reconciled a container that stopped in the gap, re-applying
 * its old `start` would resurrect it.
 */
function alreadyHandled(memory: WatcherMemory, e: DockerEvent): boolean {
  if (memory.sinceNano === null) return false;
  if (e.timeNano < memory.sinceNano) return true;
  return e.timeNano === memory.sinceNano && memory.handledAtSince.has(`${e.id}:${e.action}`);
}

function noteHandled(memory: WatcherMemory, e: DockerEvent): void {
  const key = `${e.id}:${e.action}`;
  if (memory.sinceNano === null || e.timeNano > memory.sinceNano) {
    memory.sinceNano = e.timeNano;
    memory.handledAtSince = new Set([key]);
  } else if (e.timeNano === memory.sinceNano) {
    memory.handledAtSince.add(key);
  }
}

export interface EventWatcherDeps {
  docker: DockerPort;
  reporter: ActorRef<ReporterMsg>;
  tunnelKeeper: ActorRef<TunnelKeeperMsg>;
  memory: WatcherMemory;
}

export interface EventWatcherState {
  subscription: EventSubscription | null;
}

export class EventStreamEnded extends Error {
  override readonly name = 'EventStreamEnded';
}

const STOP_ACTIONS = new Set(['die', 'stop', 'destroy']);

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
      // Replay from just before the scan: what happens between scan and subscription is then not lost.
      const scanFromNano = BigInt(ctx.clock.now() - 1) * 1_000_000n;
      const containers = await deps.docker.listManagedContainers(ctx.signal);
      const now = ctx.clock.now();
      const seen = new Set<string>();
      for (const c of containers) {
        seen.add(c.id);
        if (!memory.running.has(c.id)) started(c, now);
      }
      for (const id of [...memory.running.keys()]) if (!seen.has(id)) stopped(id, now);
      const resumeFrom = memory.sinceNano;
      const since = resumeFrom ?? scanFromNano;
      const subscription = await deps.docker.subscribeEvents(since, {
        onEvent: (event) => { ctx.toSelf({ type: 'watcher.event', event }); },
        onEnd: (reason) => { ctx.toSelf({ type: 'watcher.stream-ended', reason }); },
      }, ctx.signal);
      ctx.log.info({ event: 'event_stream_subscribed', resumed, managedRunning: memory.running.size }, 'following Docker events');
      // After a gap the master gets the whole inventory at once (protocol.md §5.6).
      if (resumed) tell(deps.reporter, reporterReportNow());
      return { subscription };
    },

    handlers: {
      'watcher.event'(state, msg) {
        const e = msg.event;
        if (alreadyHandled(memory, e)) return state;
        noteHandled(memory, e);
        const ms = Number(e.timeNano / 1_000_000n);
        if (e.attributes.name === TUNNEL_CONTAINER || e.attributes[MANAGED_LABEL] === 'true') {
          tell(deps.tunnelKeeper, tunnelContainerEvent(e.action, e.id));
          return state;
        }
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
