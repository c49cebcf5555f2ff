/**
 * A real single-node swarm on the test engine for the Swarm-mode specs: made a manager before the file's specs and
 * taken out of the swarm after them, so every other spec keeps a standalone engine. Services and networks the specs
 * make are removed after each spec.
 */
import type Docker from 'dockerode';
import { BUSYBOX_IMAGE, TEST_LABEL, testDocker } from './docker.js';
import { absentOn404, pollUntil, removeTestContainers } from './docker-fixtures.js';
import { useSpecSession, type SpecSession } from './spec-session.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';

export const SWARM_NETWORK = 'dockflare-swarm-net';

interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID: string;
  DesiredState: string;
  Status: { State: string; Timestamp: string; ContainerStatus?: { ContainerID?: string } };
}

export async function isSwarmManager(docker: Docker): Promise<boolean> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
  return info.Swarm?.LocalNodeState === 'active' && info.Swarm.ControlAvailable === true;
}

export async function removeSwarmServices(docker: Docker): Promise<void> {
  const services = await docker.listServices();
  for (const s of services) await absentOn404(() => docker.getService(s.ID).remove());
  // Tasks' containers go asynchronously: the network can be removed only once they have.
  await pollUntil(
    async () =>
      (await docker.listContainers({ all: true, filters: { label: ['com.docker.swarm.task'] } })).length === 0
        ? true
        : null,
    20_000,
    'task containers gone',
    100,
  );
}

/**
 * The engine as a single-node swarm for this describe; out of the swarm again after it. `cleanup` removes the
 * services: give it to useSpecSession, which runs it after the spec's agents have stopped (a running agent would
 * recreate its tunnel service).
 */
export function useSwarm(): { docker: Docker; cleanup: () => Promise<void> } {
  const docker = testDocker();
  before(async function () {
    this.timeout(30_000);
    if (!(await isSwarmManager(docker)))
      await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
  });
  after(async function () {
    this.timeout(30_000);
    if (!(await isSwarmManager(docker))) return;
    await removeSwarmServices(docker);
    await absentOn404(() => docker.getNetwork(SWARM_NETWORK).remove());
    await docker.swarmLeave({ force: true });
  });
  const cleanup = async (): Promise<void> => {
    if (await isSwarmManager(docker)) {
      await removeSwarmServices(docker);
      return;
    }
    // A spec took the node out of the swarm: what its tasks left behind goes, and the node is a manager again.
    const left = await docker.listContainers({ all: true, filters: { label: ['com.docker.swarm.task'] } });
    for (const c of left) await absentOn404(() => docker.getContainer(c.Id).remove({ force: true }));
    await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
  };
  return { docker, cleanup };
}

/** A busybox service that stops at once on TERM, with `labels` as its service labels (deploy.labels). */
export async function createService(
  docker: Docker,
  name: string,
  labels: Record<string, string>,
  opts: {
    replicas?: number;
    network?: string | null;
    containerLabels?: Record<string, string>;
    constraints?: string[];
  } = {},
): Promise<string> {
  const network = opts.network === undefined ? SWARM_NETWORK : opts.network;
  const created = await docker.createService({
    Name: name,
    Labels: { [TEST_LABEL]: 'true', ...labels },
    TaskTemplate: {
      ContainerSpec: {
        Image: BUSYBOX_IMAGE,
        // Labels of its task containers (`labels:` in a stack file), as opposed to the service's (`deploy.labels`).
        Labels: opts.containerLabels ?? {},
        Command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
        StopGracePeriod: 2_000_000_000,
      },
      RestartPolicy: { Condition: 'any', Delay: 500_000_000 },
      ...(opts.constraints ? { Placement: { Constraints: opts.constraints } } : {}),
      ...(network === null ? {} : { Networks: [{ Target: network }] }),
    },
    Mode: { Replicated: { Replicas: opts.replicas ?? 1 } },
  } as unknown as Docker.CreateServiceOptions);
  return created.id;
}

export async function ensureOverlay(docker: Docker, name = SWARM_NETWORK): Promise<void> {
  if ((await absentOn404(() => docker.getNetwork(name).inspect())) !== null) return;
  await docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: true });
}

/** The service's spec changed by `change` (an update naming the version read, as the CLI does). */
export async function updateService(
  docker: Docker,
  id: string,
  change: (spec: Record<string, unknown>) => Record<string, unknown>,
): Promise<void> {
  const s = docker.getService(id);
  const info = (await s.inspect()) as { Version: { Index: number }; Spec: Record<string, unknown> };
  await s.update({ _query: { version: info.Version.Index }, _body: change(info.Spec) });
}

export async function scaleService(docker: Docker, id: string, replicas: number): Promise<void> {
  await updateService(docker, id, (spec) => ({ ...spec, Mode: { Replicated: { Replicas: replicas } } }));
}

export async function tasksOf(docker: Docker, serviceId: string): Promise<SwarmTask[]> {
  return (await docker.listTasks({ filters: { service: [serviceId] } })) as SwarmTask[];
}

export async function runningTasks(docker: Docker, serviceId: string): Promise<SwarmTask[]> {
  return (await tasksOf(docker, serviceId)).filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
}

export function waitForRunningTasks(docker: Docker, serviceId: string, count: number, timeoutMs = 20_000) {
  return pollUntil(
    async () => {
      const running = await runningTasks(docker, serviceId);
      return running.length === count ? running : null;
    },
    timeoutMs,
    `${count} running tasks of ${serviceId.slice(0, 12)}`,
    100,
  );
}

export interface ServiceInspect {
  ID: string;
  Version: { Index: number };
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    Mode?: { Replicated?: { Replicas?: number } };
    TaskTemplate: {
      ContainerSpec: { Image: string; Env?: string[]; Args?: string[] };
      Networks?: { Target: string }[];
    };
  };
}

export async function tunnelService(docker: Docker): Promise<ServiceInspect | null> {
  return (await absentOn404(() => docker.getService(TUNNEL_CONTAINER).inspect())) as ServiceInspect | null;
}

/**
 * A describe's swarm and spec session together: after each spec its agents stop first, then (after `first`, e.g.
 * bringing a stopped daemon back) the services and the test containers go.
 */
export function useSwarmSession(first?: () => Promise<void>): { docker: Docker; harness: SpecSession } {
  const { docker, cleanup } = useSwarm();
  const harness = useSpecSession(async () => {
    if (first) await first();
    await cleanup();
    await removeTestContainers(docker);
  });
  return { docker, harness };
}
