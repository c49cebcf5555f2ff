/**
 * What a Swarm-mode agent serves (docs/swarm.md): labelled services, each one entry for all its tasks, and the
 * labelled containers that are not Swarm tasks (a mixed host). A task's container is never an entry of its own: its
 * service is.
 */
import type { ContainerInfo } from '../domain/container.js';
import { filterLabels, isManaged } from '../domain/labels.js';
import type { DockerPort } from './port.js';
import { runningTasks, type ServiceState, type SwarmPort, type TaskState } from './swarm-port.js';

/** The label Swarm puts on every task's container (and in its events' attributes). */
export const TASK_SERVICE_ID_LABEL = 'com.docker.swarm.service.id';
export const TASK_SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';

export const isTaskContainer = (labels: Readonly<Record<string, string>> | undefined): boolean =>
  labels?.[TASK_SERVICE_ID_LABEL] !== undefined;

/** A service as the master sees it: running while at least one task runs, named as the overlay network's DNS does. */
export function serviceEntry(s: ServiceState, running: number, active: number): ContainerInfo {
  return {
    id: s.id,
    name: s.name,
    status: running > 0 ? 'running' : 'exited',
    labels: filterLabels(s.labels),
    swarm: { serviceId: s.id, replicasRunning: running, replicasDesired: s.replicas ?? active },
  };
}

/** One service's entry from its tasks, or null when it is not served (not labelled, or gone). */
export function entryFromTasks(s: ServiceState | null, tasks: readonly TaskState[]): ContainerInfo | null {
  if (s === null || !isManaged(s.labels)) return null;
  return serviceEntry(s, runningTasks(tasks).get(s.id) ?? 0, tasks.filter((t) => t.serviceId === s.id).length);
}

/**
 * Both results, or the first failure in the order given (not in the order they happen): a lasting failure then reads
 * the same each time, and the reporter logs it once instead of at every report.
 */
export async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

export interface ServiceScan {
  /** Labelled services, running or not. */
  readonly entries: readonly ContainerInfo[];
  readonly services: readonly ServiceState[];
}

/** Every labelled service with its task counts: two calls whatever the cluster's size. */
export async function scanServices(swarm: SwarmPort, signal?: AbortSignal): Promise<ServiceScan> {
  const [services, tasks] = await both(swarm.listServices(signal), swarm.listActiveTasks(null, signal));
  const running = runningTasks(tasks);
  const active = new Map<string, number>();
  for (const t of tasks) active.set(t.serviceId, (active.get(t.serviceId) ?? 0) + 1);
  const managed = services.filter((s) => isManaged(s.labels));
  return {
    entries: managed.map((s) => serviceEntry(s, running.get(s.id) ?? 0, active.get(s.id) ?? 0)),
    services: managed,
  };
}

/**
 * The inventory of a status report in Swarm mode: running labelled services plus labelled containers that are not
 * tasks. A manager that lost its role fails the service listing, and the report says "incomplete", never "empty".
 */
export async function swarmInventory(
  docker: Pick<DockerPort, 'listManagedContainers'>,
  swarm: SwarmPort,
  signal?: AbortSignal,
): Promise<ContainerInfo[]> {
  const [containers, scan] = await both(docker.listManagedContainers(signal), scanServices(swarm, signal));
  // The port of a Swarm-mode agent leaves task containers out (DockerodePortOptions.skipSwarmTasks).
  return [...containers, ...scan.entries.filter((e) => e.status === 'running')];
}
