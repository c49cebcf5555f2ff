/**
 * DockerPort over dockerode. DOCKER_HOST may be a unix socket or tcp:// (the socket proxy of the compose file);
 * no API version is pinned, so engines from API 1.41 up to 1.52 all work.
 */
import Docker from 'dockerode';
import type { ContainerInfo } from '../../messages/docker.js';
import { filterLabels, isManaged } from '../labels.js';
import type { DockerPort } from './port.js';

export function dockerFromHost(host: string): Docker {
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port), protocol: url.protocol === 'https:' ? 'https' : 'http' });
}

export class DockerodePort implements DockerPort {
  constructor(private readonly docker: Docker) {}

  async listManagedContainers(signal?: AbortSignal): Promise<ContainerInfo[]> {
    const list = await this.docker.listContainers({ all: false, ...(signal ? { abortSignal: signal } : {}) });
    return list
      .filter((c) => isManaged(c.Labels))
      .map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        status: c.State,
        labels: filterLabels(c.Labels),
      }));
  }
}
