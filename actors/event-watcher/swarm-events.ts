/**
 * The EventWatcher's Swarm mode as its handlers use it: which events lead to a look at a service (or at all of them),
 * the tunnel service's events handed to the keeper, what a look found told to the master, and a look that fails
 * (a node that lost its manager role) logged once while it lasts, changing nothing the master was told.
 */
import type { DockerEvent } from '../../domain/container.js';
import { isDockerError } from '../../docker/port.js';
import { TASK_SERVICE_ID_LABEL, TASK_SERVICE_NAME_LABEL } from '../../docker/swarm-inventory.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import { loudOnce } from '../../log/loud-once.js';
import type { Logger } from '../../log/logger.js';
import { masterTimestamp } from '../../master/envelope.js';
import type { EventWatcherMsg } from '../../messages/event-watcher.js';
import { reporterEnqueue, type ReporterMsg } from '../../messages/reporter.js';
import { tunnelServiceEvent, type TunnelKeeperMsg } from '../../messages/tunnel-keeper.js';
import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { Timers } from '../../supervisor/timers.js';
import { serviceCheckKey, serviceSteps, type ServiceChange, type SwarmWatchDeps } from './service-looks.js';
import type { WatcherMemory } from './watcher-memory.js';

type Once = Pick<Timers<EventWatcherMsg>, 'once'>;

export function swarmWatch(
  deps: SwarmWatchDeps,
  reporter: ActorRef<ReporterMsg>,
  tunnelKeeper: ActorRef<TunnelKeeperMsg>,
) {
  const services = serviceSteps(deps);

  /** true: the event was a service's, a node's or a task container's, and is taken care of here. */
  const route = (memory: WatcherMemory, e: DockerEvent, timers: Once): boolean => {
    if (e.type === 'node') {
      timers.once('sweep', 0, { type: 'watcher.sweep' });
      return true;
    }
    const serviceId = e.type === 'service' ? e.id : e.attributes[TASK_SERVICE_ID_LABEL];
    if (serviceId === undefined) return false;
    const name = e.type === 'service' ? e.attributes.name : e.attributes[TASK_SERVICE_NAME_LABEL];
    if (name === TUNNEL_CONTAINER) tell(tunnelKeeper, tunnelServiceEvent(`${e.type ?? 'container'} ${e.action}`));
    // A burst of events of one service (create, update, its tasks' containers) is one look.
    else
      timers.once(serviceCheckKey(serviceId), 0, {
        type: 'watcher.service-check',
        serviceId,
        attempt: memory.lookAttempts.get(serviceId) ?? 0,
      });
    return true;
  };

  const tellChanges = (memory: WatcherMemory, changes: readonly ServiceChange[], ms: number): void => {
    deps.board.publish('docker', { servicesServed: memory.services.size });
    for (const c of changes)
      tell(
        reporter,
        reporterEnqueue({
          type: c.kind === 'start' ? 'container_start' : 'container_stop',
          container: c.entry,
          timestamp: masterTimestamp(ms),
        }),
      );
  };

  /**
   * One look (a sweep, or one service): what changed is told. A failed look changes nothing the master was told and
   * is logged once while it lasts (a node that lost its manager role fails every look).
   */
  const look = async (
    memory: WatcherMemory,
    log: Logger,
    ms: number,
    work: () => Promise<readonly ServiceChange[]>,
  ): Promise<void> => {
    try {
      tellChanges(memory, await work(), ms);
      if (memory.swarmProblem !== null) log.info({ event: 'swarm_scan_recovered' }, 'services readable again');
      memory.swarmProblem = null;
    } catch (err) {
      if (!isDockerError(err)) throw err;
      memory.swarmProblem = loudOnce(
        log,
        memory.swarmProblem,
        err.kind,
        'warn',
        { event: 'swarm_scan_failed', kind: err.kind, err },
        'could not read the services; what the master was told stands',
      );
    }
  };

  const sweepNow = (memory: WatcherMemory, log: Logger, timers: Once, ms: number, signal: AbortSignal) =>
    look(memory, log, ms, () => services.sweep(memory, log, timers, signal));

  const check = (
    memory: WatcherMemory,
    log: Logger,
    timers: Once,
    serviceId: string,
    attempt: number,
    ms: number,
    signal: AbortSignal,
  ) =>
    look(memory, log, ms, async () => {
      const change = await services.checkService(memory, log, timers, serviceId, attempt, signal);
      return change ? [change] : [];
    });

  return { route, sweepNow, check, sweepMs: deps.sweepMs };
}
