/**
 * The Docker boundary as the actors see it. One implementation (dockerode) lives beside it; unit specs use
 * fakes that fail loudly on anything they were not set up for.
 */
import type { ContainerInfo } from '../../messages/docker.js';

export interface DockerPort {
  /** Running containers whose enable label is truthy, labels filtered to the two prefixes (protocol.md §5.5). */
  listManagedContainers(signal?: AbortSignal): Promise<ContainerInfo[]>;
}
