/**
 * EventWatcher: labelled containers coming and going (docs/protocol.md §5.6). At start it scans, reconciles with what
 * it reported before (containers that started or vanished while it was away), then follows Docker's event stream
 * from the last event it handled. A break of the stream is a crash, so the supervisor re-subscribes with backoff,
 * unless the stream had run for a while: older socket proxies close /events after 10 minutes (docs/protocol.md §5.6),
 * and that is a deliberate restart (logged at info), not a crash at error every 10 minutes. The memory of what is
 * running and of the last event survives restarts (watcher-memory.ts), so across the gap nothing is reported twice
 * (a die followed by a stop is one container_stop), no old event contradicts what the master was told since, and
 * containers that came and went in the gap are told as far as Docker's replay buffer (its last 256 events) still
 * holds them.
 */
import { filterLabels, isManaged } from '../../domain/labels.js';
import { masterTimestamp } from '../../master/envelope.js';
import type { DockerPort, EventSubscription } from '../../docker/port.js';
import { MANAGED_LABEL, TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import type { EventWatcherMsg } from '../../messages/event-watcher.js';
import type { ContainerInfo } from '../../domain/container.js';
import { reporterEnqueue, reporterFeed, reporterReportNow, type ReporterMsg } from '../../messages/reporter.js';
import { TUNNEL_WATCHED_ACTIONS, tunnelContainerEvent, type TunnelKeeperMsg } from '../../messages/tunnel-keeper.js';
import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { ActorDef } from '../../supervisor/child-spec.js';
import {
  accountFor,
  forgetBefore,
  knowUpTo,
  noteHandled,
  REPLAY_MARGIN_NANO,
  newWatcherMemory,
  replayFrom,
  type WatcherMemory,
} from './watcher-memory.js';
import type { SwarmWatchDeps } from './service-looks.js';
import { swarmWatch } from './swarm-events.js';

export interface EventWatcherDeps {
  docker: DockerPort;
  reporter: ActorRef<ReporterMsg>;
  tunnelKeeper: ActorRef<TunnelKeeperMsg>;
  /** Swarm mode (docs/swarm.md): labelled services are followed too, and task containers only through them. */
  swarm?: SwarmWatchDeps;
}

export interface EventWatcherState {
  subscription: EventSubscription | null;
  /** When this incarnation's scan went out: Docker stamps an event after its change, so an older one is in the scan. */
  scanNano: bigint;
  /** Where this incarnation's stream starts: what the memory knows from here on is kept while it runs. */
  replayFromNano: bigint;
  /** The clock's monotonic ms when the stream was subscribed. */
  subscribedAt: number;
}

/** A stream that ran this long before it broke is re-subscribed at once, as a restart rather than a crash. */
export const LONG_STREAM_MS = 60_000;

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
/** Swarm mode adds what services and nodes do (create, update, remove); Docker ANDs the type and action filters. */
const SWARM_ACTIONS: readonly string[] = [...SUBSCRIBED_ACTIONS, 'create', 'update', 'remove'];

export function eventWatcherDef(deps: EventWatcherDeps): ActorDef<EventWatcherState, EventWatcherMsg, WatcherMemory> {
  const started = (memory: WatcherMemory, c: ContainerInfo, ms: number): void => {
    memory.running.set(c.id, c);
    tell(deps.reporter, reporterEnqueue({ type: 'container_start', container: c, timestamp: masterTimestamp(ms) }));
  };
  const stopped = (memory: WatcherMemory, id: string, ms: number): void => {
    const known = memory.running.get(id);
    if (!known) return;
    memory.running.delete(id);
    tell(
      deps.reporter,
      reporterEnqueue({
        type: 'container_stop',
        container: { ...known, status: 'exited' },
        timestamp: masterTimestamp(ms),
      }),
    );
  };

  const swarm = deps.swarm ? swarmWatch(deps.swarm, deps.reporter, deps.tunnelKeeper) : null;

  return {
    // What was handled and told survives a restart: a resumed stream replays, and nothing is told twice.
    carry: newWatcherMemory,

    async init(ctx) {
      const memory = ctx.carried;
      // After any earlier stream, handled events or not (a quiet host): the gap ends with a full report.
      const resumed = memory.subscriptions > 0;
      // Docker stamps an event after the change it reports, so one stamped before this moment is in the scan's
      // result; that holds while the agent and Docker read the same clock, as they do on one host (also via the
      // proxy). What the scan tells carries this time too: a later event of the same container is then later.
      const scanMs = ctx.clock.now();
      const scanNano = BigInt(scanMs) * 1_000_000n;
      const containers = await deps.docker.listManagedContainers(ctx.signal);
      const seen = new Set<string>();
      for (const c of containers) {
        seen.add(c.id);
        knowUpTo(memory, c.id, scanNano);
        if (!memory.running.has(c.id)) started(memory, c, scanMs);
      }
      for (const id of [...memory.running.keys()]) {
        if (seen.has(id)) continue;
        knowUpTo(memory, id, scanNano);
        stopped(memory, id, scanMs);
      }
      await swarm?.sweepNow(memory, ctx.log, ctx.timers, scanMs, ctx.signal);
      // The first incarnation follows from its scan on, a resumed one replays what it missed.
      const since = replayFrom(memory, scanNano);
      // The first event handled later may be as old as this since; a later stream starts a margin before it.
      forgetBefore(memory, since - REPLAY_MARGIN_NANO);
      const subscription = await deps.docker.subscribeEvents(
        since,
        swarm ? SWARM_ACTIONS : SUBSCRIBED_ACTIONS,
        {
          onEvent: (event) => {
            ctx.toSelf({ type: 'watcher.event', event });
          },
          onEnd: (reason) => {
            ctx.toSelf({ type: 'watcher.stream-ended', reason });
          },
        },
        ctx.signal,
        swarm ? ['container', 'service', 'node'] : ['container'],
      );
      memory.subscriptions++;
      if (swarm) ctx.timers.once('sweep', swarm.sweepMs, { type: 'watcher.sweep' });
      ctx.log.info(
        { event: 'event_stream_subscribed', resumed, managedRunning: memory.running.size },
        'following Docker events',
      );
      // Events from here on reach the Reporter: its inventory can come from them (reporter/inventory-view.ts), laid
      // over this scan, so that it needs no scan of its own to begin with.
      tell(deps.reporter, reporterFeed(true, containers));
      // After a gap the master gets the whole inventory at once (docs/protocol.md §5.6).
      if (resumed) tell(deps.reporter, reporterReportNow());
      return { subscription, scanNano, replayFromNano: since, subscribedAt: ctx.clock.monotonic() };
    },

    handlers: {
      'watcher.event'(state, msg, ctx) {
        const memory = ctx.carried;
        const e = msg.event;
        if (!noteHandled(memory, e)) return state;
        const ms = Number(e.timeNano / 1_000_000n);
        if (swarm?.route(memory, e, ctx.timers)) return state;
        if (e.attributes.name === TUNNEL_CONTAINER || e.attributes[MANAGED_LABEL] === 'true') {
          // The keeper's own check is not part of the scan: what happened to the tunnel in the gap still counts.
          tell(deps.tunnelKeeper, tunnelContainerEvent(e.action, e.id));
          return state;
        }
        const managed = isManaged(e.attributes);
        if (!managed && !memory.running.has(e.id)) return state;
        if (!accountFor(memory, e, state.replayFromNano)) return state;
        if (e.action === 'start') {
          if (memory.running.has(e.id) || !managed) return state;
          started(
            memory,
            { id: e.id, name: e.attributes.name ?? '', status: 'running', labels: filterLabels(e.attributes) },
            ms,
          );
          if (e.timeNano < state.scanNano) {
            // From before the scan, which did not see it (or it would be accounted for up to the scan): it has
            // stopped since. Its stop may not come (gone from Docker's replay buffer of 256 events), so it is
            // told now.
            stopped(memory, e.id, Number(state.scanNano / 1_000_000n));
            knowUpTo(memory, e.id, state.scanNano);
          }
        } else if (STOP_ACTIONS.has(e.action)) {
          stopped(memory, e.id, ms);
        }
        return state;
      },

      async 'watcher.service-check'(state, msg, ctx) {
        await swarm?.check(ctx.carried, ctx.log, ctx.timers, msg.serviceId, msg.attempt, ctx.clock.now(), ctx.signal);
        return state;
      },

      async 'watcher.sweep'(state, _msg, ctx) {
        if (!swarm) return state;
        await swarm.sweepNow(ctx.carried, ctx.log, ctx.timers, ctx.clock.now(), ctx.signal);
        ctx.timers.once('sweep', swarm.sweepMs, { type: 'watcher.sweep' });
        return state;
      },

      'watcher.stream-ended'(state, msg, ctx) {
        const ranMs = ctx.clock.monotonic() - state.subscribedAt;
        // Only the connection's end is a proxy's doing; anything else the port reports (a line no daemon sends) is not.
        const connectionEnded = msg.reason === 'ended' || msg.reason === 'closed' || msg.reason.startsWith('error:');
        if (ranMs < LONG_STREAM_MS || !connectionEnded)
          throw new EventStreamEnded(`Docker event stream broke: ${msg.reason}`);
        // A proxy's timeout, or the daemon going away: the next subscription tells which (a crash if it fails).
        ctx.log.info(
          { event: 'event_stream_closed', reason: msg.reason, ranMs },
          'docker event stream closed; resubscribing',
        );
        ctx.restartSelf(`event stream closed after ${Math.round(ranMs / 1000)} s: ${msg.reason}`);
        return state;
      },
    },

    release(state) {
      state?.subscription?.close();
      tell(deps.reporter, reporterFeed(false));
    },
  };
}
