/**
 * Which container this process runs in, so that a finished decommission can stop it (docs/protocol.md §13.10).
 * Candidates come from HOSTNAME (Docker's default hostname is the short id) and from the /etc/hostname bind mount in
 * /proc/self/mountinfo (from Docker's containers/<id>/ directory). Neither proves much: a container sharing another's
 * network (`network_mode: service:vpn`) gets that one's hostname and files. So a candidate counts only when an inspect
 * on the engine the agent manages finds it and it is the agent by name: named `dockflare-agent`, the compose service
 * `dockflare-agent` (as upstream), or a task of the Swarm service `dockflare-agent` (`<stack>_dockflare-agent`).
 * Never guessed: a wrong answer would stop someone else's container.
 */
import { readFile } from 'node:fs/promises';
import { TUNNEL_CONTAINER } from '../domain/tunnel.js';
import type { DockerPort } from './port.js';

export interface SelfContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /**
   * Set when this container is a Swarm task of the agent's service (`dockflare-agent`, or `<stack>_dockflare-agent`
   * from docker-stack.yml): stopping the task would only make Swarm start another, so the service is scaled to 0.
   */
  readonly swarmService?: string;
}

const HEX_ID = /^[0-9a-f]{12,64}$/;
/** mountinfo: `… <root> <mount point> …`; only the file Docker mounts as this container's /etc/hostname. */
const HOSTNAME_MOUNT = /\/containers\/([0-9a-f]{64})\/hostname \/etc\/hostname /g;
export const AGENT_NAME = 'dockflare-agent';
const COMPOSE_SERVICE = 'com.docker.compose.service';
const SWARM_SERVICE_ID = 'com.docker.swarm.service.id';
const SWARM_SERVICE_NAME = 'com.docker.swarm.service.name';

/** The agent's own Swarm service, by its name: `dockflare-agent` or a stack's `<stack>_dockflare-agent`. */
const isAgentService = (name: string | undefined): boolean =>
  name !== undefined && (name === AGENT_NAME || name.endsWith(`_${AGENT_NAME}`));

/** Possible ids of our own container, most specific first, without duplicates. */
export function selfCandidates(hostname: string | undefined, mountinfo: string | null): string[] {
  const found: string[] = [];
  for (const m of (mountinfo ?? '').matchAll(HOSTNAME_MOUNT)) if (m[1] !== undefined) found.push(m[1]);
  const host = (hostname ?? '').trim().toLowerCase();
  if (HEX_ID.test(host)) found.push(host);
  return [...new Set(found)];
}

export interface SelfLocatorDeps {
  docker: Pick<DockerPort, 'inspectContainer'>;
  /**
   * Whether the agent can scale its own Swarm service (Swarm mode): without that, a task of it is not counted as
   * found, since stopping the task would only make Swarm start another.
   */
  canScaleOwnService?: boolean;
  hostname: string | undefined;
  readMountinfo: () => Promise<string | null>;
}

export const readProcMountinfo = (): Promise<string | null> =>
  readFile('/proc/self/mountinfo', 'utf8').catch(() => null);

/**
 * Finds and remembers our own container. Not found is asked again next time (Docker may have been away); found
 * is final for the process's life. Docker failures count as not found.
 */
export class SelfLocator {
  private found: SelfContainer | null = null;

  constructor(private readonly deps: SelfLocatorDeps) {}

  /** Whether a candidate exists at all: without one no Docker call can ever confirm anything. */
  async hasCandidates(): Promise<boolean> {
    return selfCandidates(this.deps.hostname, await this.deps.readMountinfo()).length > 0;
  }

  async locate(): Promise<SelfContainer | null> {
    if (this.found !== null) return this.found;
    for (const candidate of selfCandidates(this.deps.hostname, await this.deps.readMountinfo())) {
      const c = await this.deps.docker.inspectContainer(candidate).catch(() => null);
      if (c === null || !c.id.startsWith(candidate) || c.name === TUNNEL_CONTAINER) continue;
      const service = c.labels[SWARM_SERVICE_ID];
      if (service !== undefined && isAgentService(c.labels[SWARM_SERVICE_NAME])) {
        if (this.deps.canScaleOwnService !== true) continue;
        this.found = { id: c.id, name: c.name, image: c.image, swarmService: service };
        return this.found;
      }
      if (c.name !== AGENT_NAME && c.labels[COMPOSE_SERVICE] !== AGENT_NAME) continue;
      this.found = { id: c.id, name: c.name, image: c.image };
      return this.found;
    }
    return null;
  }
}
