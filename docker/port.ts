/**
 * The Docker boundary as the actors see it (docs/protocol.md §7.3). One implementation (dockerode) lives beside it;
 * unit specs use fakes that fail loudly on anything they were not set up for.
 */
import type { ContainerInfo, DockerEvent, DockerEventType } from '../domain/container.js';

/** What the TunnelKeeper needs to know about a container. Env is read only to compare the token, never logged. */
export interface ContainerState {
  id: string;
  name: string;
  status: string;
  running: boolean;
  restarting: boolean;
  image: string;
  env: readonly string[];
  startedAt: string;
  /** Docker's restarts of this container since it was created (its restart policy at work). */
  restartCount: number;
  /** The last run's exit code; null while it has never exited. */
  exitCode: number | null;
  labels: Readonly<Record<string, string>>;
}

export interface TunnelContainerSpec {
  name: string;
  image: string;
  cmd: readonly string[];
  env: readonly string[];
  network: string;
  labels: Readonly<Record<string, string>>;
}

export type Removal = { readonly kind: 'removed' } | { readonly kind: 'renamed'; readonly name: string };

export interface EventSubscription {
  close(): void;
}

export interface EventHandlers {
  onEvent(event: DockerEvent): void;
  /** The stream ended or broke (daemon restart, proxy timeout); called once. */
  onEnd(reason: string): void;
}

export interface DockerPort {
  /** Running containers whose enable label is truthy, labels filtered to the two prefixes (docs/protocol.md §5.5). */
  listManagedContainers(signal?: AbortSignal): Promise<ContainerInfo[]>;
  /** null when there is no such container. */
  inspectContainer(idOrName: string, signal?: AbortSignal): Promise<ContainerState | null>;
  /**
   * Container events with one of `actions` since `sinceNano` (Docker's since is inclusive: callers dedupe). Docker
   * filters the actions itself; `health_status` matches every `health_status: <state>`. The subscription closes
   * itself when `signal` aborts, also when that happens while it is being set up. `types`: containers only unless
   * told (Swarm mode adds services and nodes).
   */
  subscribeEvents(
    sinceNano: bigint | null,
    actions: readonly string[],
    handlers: EventHandlers,
    signal?: AbortSignal,
    types?: readonly DockerEventType[],
  ): Promise<EventSubscription>;
  imageExists(ref: string): Promise<boolean>;
  pullImage(ref: string, onProgress: (status: string) => void): Promise<void>;
  networkExists(name: string): Promise<boolean>;
  createNetwork(name: string): Promise<void>;
  createAndStart(spec: TunnelContainerSpec): Promise<string>;
  /**
   * Stop (timeout in s) and keep the container: false when there was none. An already stopped one is not stopped
   * again (Docker's 304).
   */
  stopContainer(idOrName: string, timeoutS: number): Promise<boolean>;
  /**
   * Stop (timeout in s) then remove; a container that is already gone counts as removed. Where the socket proxy
   * refuses DELETE (403), the stopped container is renamed aside (`<name>-replaced-<UTC digits>`) instead, so that
   * its name is free for the next one; the answer says which happened.
   */
  stopAndRemove(idOrName: string, timeoutS: number): Promise<Removal>;
  /** The last `lines` non-empty lines the container wrote (stdout and stderr), whole: a caller redacts, then cuts. */
  logTail(id: string, lines: number): Promise<string[]>;
}

export type DockerErrorKind = 'not_found' | 'conflict' | 'unavailable' | 'failed';

/** docker-modem errors mapped to the taxonomy the actors react to (docs/architecture.md §4.4). */
export class DockerError extends Error {
  override readonly name = 'DockerError';
  constructor(
    readonly kind: DockerErrorKind,
    readonly operation: string,
    readonly statusCode: number | null,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${operation}: ${message}`, options);
  }
}

export function isDockerError(err: unknown, kind?: DockerErrorKind): err is DockerError {
  return err instanceof DockerError && (kind === undefined || err.kind === kind);
}
