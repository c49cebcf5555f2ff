/**
 * The managed cloudflared container (docs/protocol.md §7): exactly one, named dockflare-agent-tunnel, token in the
 * environment only, `unless-stopped`, on the shared network. `ensureTunnel` is the start sequence of §7.2: adopt
 * a running container that matches, otherwise remove whatever is there (the original looped on the name
 * conflict forever), make sure image and network exist, create, start. Whether a container counts as running is
 * the TunnelKeeper's decision after its start settle time (§7.2 step 5), not made here.
 */
import type { Logger } from '../../log/logger.js';
import { DockerError, type ContainerState, type DockerPort, type Removal } from '../../docker/port.js';
import { MANAGED_LABEL, TUNNEL_CONTAINER } from '../../domain/tunnel.js';

export const TUNNEL_CMD = ['tunnel', '--no-autoupdate', 'run'] as const;

export interface TunnelWant {
  image: string;
  network: string;
  createNetwork: boolean;
  token: string;
  tunnelId: string;
  tunnelName: string;
}

/** The tunnel as stored, with the keeper's settings: what both modes start (a container, or a service's tasks). */
export function tunnelWant(
  settings: Pick<TunnelWant, 'image' | 'network' | 'createNetwork'>,
  tunnel: { token: string; id: string; name: string | null },
): TunnelWant {
  const { image, network, createNetwork } = settings;
  return {
    image,
    network,
    createNetwork,
    token: tunnel.token,
    tunnelId: tunnel.id,
    tunnelName: tunnel.name ?? tunnel.id,
  };
}

export type EnsureOutcome =
  /** A matching container was already running (adopted). `startedAt` and `restartCount` as Docker reports them. */
  | {
      readonly kind: 'running';
      readonly containerId: string;
      readonly startedAt: string;
      readonly restartCount: number;
    }
  /** Created and started now (restart count 0): not yet known to stay up. */
  | { readonly kind: 'started'; readonly containerId: string; readonly startedAt: string; readonly restartCount: 0 }
  /** Docker's restart policy is bringing it back: leave it alone (do not fight the engine). */
  | { readonly kind: 'restarting'; readonly containerId: string };

export function matchesWant(c: ContainerState, want: TunnelWant): boolean {
  return c.image === want.image && c.env.includes(`TUNNEL_TOKEN=${want.token}`);
}

/**
 * cloudflared's version, from the line it logs at start (`INF Version 2025.9.0 ...`), in the form the original
 * agent reported (the first line of `cloudflared --version`). Read from the logs, not by exec: the socket proxy
 * then needs no EXEC, which would let the agent run any command in any container.
 */
export async function readVersion(docker: DockerPort, containerId: string): Promise<string | null> {
  try {
    const lines = await docker.logTail(containerId, VERSION_LOG_LINES);
    for (const line of lines) {
      const version = /\bVersion (\d[\w.+-]*)/.exec(line)?.[1];
      if (version !== undefined) return `cloudflared version ${version}`;
    }
    return null;
  } catch {
    return null;
  }
}

/** cloudflared logs its version among its first lines; a confirm comes seconds after the start. */
const VERSION_LOG_LINES = 200;

export async function ensureTunnel(
  docker: DockerPort,
  want: TunnelWant,
  opts: {
    replace: boolean;
    leaveRestarting: boolean;
    stopTimeoutS: number;
    log: Logger;
    onRemoval: (removal: Removal) => void;
  },
): Promise<EnsureOutcome> {
  const { log } = opts;
  const existing = await docker.inspectContainer(TUNNEL_CONTAINER);
  if (existing && !opts.replace) {
    if (existing.restarting && opts.leaveRestarting) return { kind: 'restarting', containerId: existing.id };
    // Docker reports a container it is restarting as running too: one left restarting long enough is replaced.
    if (existing.running && !existing.restarting && matchesWant(existing, want))
      return {
        kind: 'running',
        containerId: existing.id,
        startedAt: existing.startedAt,
        restartCount: existing.restartCount,
      };
  }
  if (existing) {
    const why = opts.replace
      ? 'replacement requested'
      : existing.running
        ? 'image or token differs'
        : `container is ${existing.status}`;
    log.info(
      { event: 'tunnel_container_removing', containerId: existing.id, status: existing.status, why },
      'removing the existing tunnel container',
    );
  }
  // The removal and the two reads do not depend on each other: one round trip to Docker instead of three in a row
  // on the way from a start command to a running tunnel.
  const [removal, image, network] = await Promise.allSettled([
    existing ? docker.stopAndRemove(existing.id, opts.stopTimeoutS) : null,
    docker.imageExists(want.image),
    docker.networkExists(want.network),
  ]);
  // A removal that worked is accounted for even when a read failed beside it.
  if (removal.status === 'fulfilled' && removal.value) opts.onRemoval(removal.value);
  const haveImage = settled(image);
  const haveNetwork = settled(network);
  settled(removal);
  if (!haveImage) {
    log.info({ event: 'image_pull_started', image: want.image }, 'cloudflared image missing; pulling it');
    let last = '';
    await docker.pullImage(want.image, (status) => {
      if (status !== last) log.debug({ event: 'image_pull_progress', image: want.image, status }, 'pulling');
      last = status;
    });
    log.info({ event: 'image_pulled', image: want.image }, 'cloudflared image pulled');
  }
  if (!haveNetwork) {
    if (!want.createNetwork) {
      throw new DockerError(
        'failed',
        'ensure network',
        null,
        `network ${want.network} does not exist; create it (docker network create ${want.network}) or set CLOUDFLARED_CREATE_NETWORK=true`,
      );
    }
    await docker.createNetwork(want.network);
    log.info({ event: 'network_created', network: want.network }, 'created the tunnel network as a bridge');
  }
  const containerId = await docker.createAndStart({
    name: TUNNEL_CONTAINER,
    image: want.image,
    cmd: TUNNEL_CMD,
    env: [`TUNNEL_TOKEN=${want.token}`],
    network: want.network,
    labels: {
      [MANAGED_LABEL]: 'true',
      'dockflare-agent.tunnel-id': want.tunnelId,
      'dockflare-agent.tunnel-name': want.tunnelName,
    },
  });
  // Docker's start time of this run: with the restart count, it tells a run that lasted from a later one that
  // Docker's restart policy started after this one exited.
  const started = await docker.inspectContainer(containerId);
  return { kind: 'started', containerId, startedAt: started?.startedAt ?? '', restartCount: 0 };
}

/** The value of a settled call, or its error thrown. */
function settled<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}
