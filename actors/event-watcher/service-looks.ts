/**
 * The EventWatcher's Swarm part (docs/swarm.md): labelled services as the master's entries. Services are followed by
 * level, not by edge: any event of a service or of one of its task containers makes the watcher look at the service
 * (its spec and its tasks) and tell the master what changed since it last told it. Replays, repeats and events in any
 * order therefore tell nothing twice. Swarm sends no event when a task on another node starts, so a service that has
 * not converged is looked at again (convergeDelayMs), and a sweep of all services runs periodically and after any
 * node event.
 */
import type { ContainerInfo } from '../../domain/container.js';
import { entryFromTasks, scanServices } from '../../docker/swarm-inventory.js';
import type { ServiceState, SwarmPort } from '../../docker/swarm-port.js';
import type { Logger } from '../../log/logger.js';
import type { EventWatcherMsg } from '../../messages/event-watcher.js';
import type { WatcherMemory } from './watcher-memory.js';
import type { StatusBoard } from '../../domain/status-board.js';

export interface SwarmWatchDeps {
  swarm: SwarmPort;
  /** The network the tunnel service runs on: a served service must share it for cloudflared to reach it. */
  network: string;
  /** Period of the sweep of all services. */
  sweepMs: number;
  /** Where /health and the metrics read how many services are served. */
  board: StatusBoard;
}

/** What changed for one service: told to the master as a start or a stop of its entry. */
export type ServiceChange =
  { readonly kind: 'start'; readonly entry: ContainerInfo } | { readonly kind: 'stop'; readonly entry: ContainerInfo };

/**
 * A service not converged yet is looked at again: each half second for ten seconds (a task starting on another node
 * is told within a second), then every two seconds for two minutes more (an image pull on a slow node), then only by
 * the sweep. Each look is two calls about that one service.
 */
export const CONVERGE_CHECKS = 80;
export function convergeDelayMs(attempt: number): number {
  return attempt < 20 ? 500 : 2000;
}

interface Timers {
  once(key: string, delayMs: number, msg: EventWatcherMsg): void;
}

export const serviceCheckKey = (serviceId: string): string => `svc:${serviceId}`;

const converged = (e: ContainerInfo): boolean =>
  e.swarm !== undefined && e.swarm.replicasRunning === e.swarm.replicasDesired;

const sameLabels = (a: ContainerInfo, b: ContainerInfo): boolean => {
  const ka = Object.keys(a.labels);
  return ka.length === Object.keys(b.labels).length && ka.every((k) => a.labels[k] === b.labels[k]);
};

/**
 * Applies what a look found (`entry` null: not served any more) to what the master was told. A service whose
 * labels changed while it runs is told again as a start: the master reads its routes from the labels.
 */
export function applyService(memory: WatcherMemory, id: string, entry: ContainerInfo | null): ServiceChange | null {
  const told = memory.services.get(id);
  if (entry !== null && entry.status === 'running') {
    memory.services.set(id, entry);
    return told === undefined || !sameLabels(told, entry) ? { kind: 'start', entry } : null;
  }
  if (told === undefined) return null;
  memory.services.delete(id);
  return { kind: 'stop', entry: { ...told, status: 'exited', ...(entry?.swarm ? { swarm: entry.swarm } : {}) } };
}

export function serviceSteps(deps: SwarmWatchDeps) {
  /** The tunnel network's id, looked up once per look at the services (null: not there yet, nothing to warn of). */
  const tunnelNetworkId = async (): Promise<string | null> =>
    (await deps.swarm.inspectNetwork(deps.network).catch(() => null))?.id ?? null;

  /** Whether the service's networks were looked at as they are now (then no network lookup is needed). */
  const networksChecked = (memory: WatcherMemory, s: ServiceState): boolean =>
    memory.networksChecked.get(s.id) === s.networkIds.join(',');

  /**
   * Warns once per service (again only if its networks change) that cloudflared cannot reach it: it shares no
   * network with the tunnel service.
   */
  const warnUnreachable = (memory: WatcherMemory, log: Logger, s: ServiceState, netId: string | null): void => {
    const { id, name } = s;
    if (netId === null || networksChecked(memory, s)) return;
    memory.networksChecked.set(id, s.networkIds.join(','));
    if (s.networkIds.includes(netId)) return;
    log.warn(
      {
        event: 'service_unreachable',
        service: name,
        network: deps.network,
        hint: `attach it: docker service update --network-add ${deps.network} ${name}`,
      },
      'labelled service shares no network with cloudflared',
    );
  };

  /** One service looked at: its change (if any), and another look soon while it has not converged. */
  const checkService = async (
    memory: WatcherMemory,
    log: Logger,
    timers: Timers,
    id: string,
    attempt: number,
    signal: AbortSignal,
  ): Promise<ServiceChange | null> => {
    const service = await deps.swarm.inspectService(id, signal);
    const tasks = service === null ? [] : await deps.swarm.listActiveTasks(id, signal);
    const entry = entryFromTasks(service, tasks);
    memory.lookAttempts.delete(id);
    if (service === null || entry === null) memory.networksChecked.delete(id);
    if (service !== null && entry !== null) {
      if (!networksChecked(memory, service)) warnUnreachable(memory, log, service, await tunnelNetworkId());
      // An event meanwhile looks at once but goes on from this count: a crash loop is not looked at for ever.
      if (!converged(entry)) memory.lookAttempts.set(id, Math.min(attempt + 1, CONVERGE_CHECKS));
      if (!converged(entry) && attempt < CONVERGE_CHECKS) {
        timers.once(serviceCheckKey(id), convergeDelayMs(attempt), {
          type: 'watcher.service-check',
          serviceId: id,
          attempt: attempt + 1,
        });
      }
    }
    return applyService(memory, id, entry);
  };

  /**
   * Every service looked at: what changed, including services gone since the last look. One not converged is looked
   * at again soon: its tasks may start where no event of ours tells it (another node, or an engine's restart).
   */
  const sweep = async (
    memory: WatcherMemory,
    log: Logger,
    timers: Timers,
    signal: AbortSignal,
  ): Promise<ServiceChange[]> => {
    const scan = await scanServices(deps.swarm, signal);
    const changes: ServiceChange[] = [];
    const seen = new Set<string>();
    const counts = new Map<string, string>();
    for (const entry of scan.entries) {
      seen.add(entry.id);
      const count = `${entry.swarm?.replicasRunning ?? 0}/${entry.swarm?.replicasDesired ?? 0}`;
      counts.set(entry.id, count);
      // Only a service whose counts moved since the last sweep: one stuck at 0/1 (an image no node has) is not
      // polled for ever.
      if (!converged(entry) && memory.sweptCounts.get(entry.id) !== count)
        timers.once(serviceCheckKey(entry.id), convergeDelayMs(0), {
          type: 'watcher.service-check',
          serviceId: entry.id,
          attempt: 1,
        });
      const change = applyService(memory, entry.id, entry);
      if (change) changes.push(change);
    }
    if (scan.services.some((s) => !networksChecked(memory, s))) {
      const netId = await tunnelNetworkId();
      for (const s of scan.services) warnUnreachable(memory, log, s, netId);
    }
    // What is kept per service goes with the service.
    for (const id of [...memory.networksChecked.keys()]) if (!seen.has(id)) memory.networksChecked.delete(id);
    for (const id of [...memory.lookAttempts.keys()]) if (!seen.has(id)) memory.lookAttempts.delete(id);
    for (const id of [...memory.services.keys()]) {
      if (seen.has(id)) continue;
      const change = applyService(memory, id, null);
      if (change) changes.push(change);
    }
    memory.sweptCounts = counts;
    return changes;
  };

  return { checkService, sweep };
}
