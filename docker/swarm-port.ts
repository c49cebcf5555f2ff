/**
 * The Swarm boundary (docs/swarm.md): what the agent needs of a Swarm manager's API, beside the container port. The
 * services API answers on managers only; a node that loses the role answers 503, which callers take as "unknown",
 * never as "empty".
 */

/** What `/info` says about this engine's place in a swarm. */
export interface SwarmRole {
  /** `inactive`, `pending`, `active`, `error` or `locked`, as Docker says it. */
  readonly localNodeState: string;
  readonly manager: boolean;
  readonly nodeId: string | null;
  /** Nodes in the swarm, as a manager sees them; null when not a manager. */
  readonly nodes: number | null;
}

export interface ServiceState {
  readonly id: string;
  readonly name: string;
  /** Swarm's object version: an update must name the version it read. */
  readonly version: number;
  /** Service labels (`deploy.labels` in a stack file), not the labels of its containers. */
  readonly labels: Readonly<Record<string, string>>;
  readonly image: string;
  readonly env: readonly string[];
  readonly args: readonly string[];
  /** Replicas wanted; null for a global service (one task per eligible node). */
  readonly replicas: number | null;
  /** The ids of the networks its tasks attach to. */
  readonly networkIds: readonly string[];
  readonly restartCondition: string | null;
  /** Swarm's ForceUpdate counter: raising it replaces the tasks of an unchanged spec (a restart). */
  readonly forceUpdate: number;
}

export interface TaskState {
  readonly id: string;
  readonly serviceId: string;
  readonly nodeId: string | null;
  /** Swarm's view of the task: `running`, `preparing`, `starting`, `failed`, `shutdown`, ... */
  readonly state: string;
  readonly desiredState: string;
  readonly containerId: string | null;
  /** When the task reached its current state (Swarm's clock). */
  readonly since: string;
  /** The image and environment the task was made with (a task made before an update keeps the old ones). */
  readonly image: string;
  readonly env: readonly string[];
  /** The spec's ForceUpdate the task was made with: a restart's new tasks have a higher one. */
  readonly forceUpdate: number;
  /** Swarm's account of why the task failed or cannot start (no such image, no suitable node); null if none. */
  readonly error: string | null;
}

export interface NetworkState {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly scope: string;
  readonly attachable: boolean;
}

/** The tunnel service as the agent wants it; the token goes in `env` only. */
export interface TunnelServiceSpec {
  name: string;
  image: string;
  args: readonly string[];
  env: readonly string[];
  networkId: string;
  replicas: number;
  labels: Readonly<Record<string, string>>;
  /** Raised above the service's current value to replace its tasks although nothing else changed. */
  forceUpdate?: number;
}

export interface SwarmPort {
  swarmRole(signal?: AbortSignal): Promise<SwarmRole>;
  listServices(signal?: AbortSignal): Promise<ServiceState[]>;
  /** null when there is no such service. */
  inspectService(idOrName: string, signal?: AbortSignal): Promise<ServiceState | null>;
  /** Tasks whose desired state is running, of one service or of all. */
  listActiveTasks(serviceId: string | null, signal?: AbortSignal): Promise<TaskState[]>;
  /** null when there is no such network. */
  inspectNetwork(idOrName: string): Promise<NetworkState | null>;
  /** An attachable overlay network; one that appeared meanwhile counts as created. */
  createOverlayNetwork(name: string): Promise<void>;
  createService(spec: TunnelServiceSpec): Promise<string>;
  /** Replaces the service's spec with `spec`; `version` is the one read (Swarm refuses a stale one). */
  updateService(id: string, version: number, spec: TunnelServiceSpec): Promise<void>;
  /** false when there was none. */
  removeService(id: string): Promise<boolean>;
  /** Any service's replicas set to `replicas`, the rest of its spec as it is (the agent's own, when decommissioned). */
  scaleService(id: string, replicas: number): Promise<void>;
  /** The last `lines` lines the service's tasks wrote, whole. */
  serviceLogTail(id: string, lines: number): Promise<string[]>;
}

/** Why a network of that name cannot carry the tunnel service; null when it can. */
export function unusableNetwork(n: NetworkState): string | null {
  if (n.driver !== 'overlay' || n.scope !== 'swarm') return `it is a ${n.driver} network of ${n.scope} scope`;
  if (!n.attachable) return 'it is an overlay network that is not attachable';
  return null;
}

/** The task state in which its container runs. */
export const RUNNING_TASK = 'running';

/** Running tasks per service id, from one task listing. */
export function runningTasks(tasks: readonly TaskState[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of tasks) if (t.state === RUNNING_TASK) out.set(t.serviceId, (out.get(t.serviceId) ?? 0) + 1);
  return out;
}
