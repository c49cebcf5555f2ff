/**
 * The tunnel as a Swarm service (docs/swarm.md): `dockflare-agent-tunnel`, replicated (cloudflared runs several
 * connectors of one tunnel), restart policy `any`, on an attachable overlay network, the token in its environment
 * only. Swarm restarts failed tasks; the keeper only brings the service's spec back to what it wants when it differs
 * or is gone. No container of it is ever touched directly.
 */
import { DockerError } from '../../docker/port.js';
import {
  unusableNetwork,
  type ServiceState,
  type SwarmPort,
  type TaskState,
  type TunnelServiceSpec,
} from '../../docker/swarm-port.js';
import { MANAGED_LABEL, TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import type { Logger } from '../../log/logger.js';
import { TUNNEL_CMD, type TunnelWant } from './container.js';

/** The container's want, and how many tasks. */
export interface ServiceWant extends TunnelWant {
  replicas: number;
}

/** The overlay network's id, created when missing (if allowed); a network of the name that cannot serve is an error. */
export async function ensureOverlay(swarm: SwarmPort, want: ServiceWant, log: Logger): Promise<string> {
  let net = await swarm.inspectNetwork(want.network);
  if (net === null) {
    if (!want.createNetwork)
      throw new DockerError(
        'failed',
        'ensure network',
        null,
        `network ${want.network} does not exist; create it (docker network create -d overlay --attachable ` +
          `${want.network}) or set CLOUDFLARED_CREATE_NETWORK=true`,
      );
    await swarm.createOverlayNetwork(want.network);
    log.info(
      { event: 'network_created', network: want.network },
      'created the tunnel network as an attachable overlay',
    );
    net = await swarm.inspectNetwork(want.network);
    if (net === null) throw new DockerError('failed', 'ensure network', null, `network ${want.network} vanished`);
  }
  const why = unusableNetwork(net);
  if (why !== null) throw new DockerError('failed', 'ensure network', null, `network ${want.network}: ${why}`);
  return net.id;
}

export function serviceSpec(want: ServiceWant, networkId: string): TunnelServiceSpec {
  return {
    name: TUNNEL_CONTAINER,
    image: want.image,
    args: TUNNEL_CMD,
    env: [`TUNNEL_TOKEN=${want.token}`],
    networkId,
    replicas: want.replicas,
    labels: {
      [MANAGED_LABEL]: 'true',
      'dockflare-agent.tunnel-id': want.tunnelId,
      'dockflare-agent.tunnel-name': want.tunnelName,
    },
  };
}

/** What differs between the service and the spec, by field name only (the token's value is never logged). */
export function specDrift(s: ServiceState, want: TunnelServiceSpec): string[] {
  const drift: string[] = [];
  if (s.image !== want.image) drift.push('image');
  if (s.env.length !== want.env.length || !want.env.every((e) => s.env.includes(e))) drift.push('token');
  if (s.args.join(' ') !== want.args.join(' ')) drift.push('args');
  if (s.replicas !== want.replicas) drift.push('replicas');
  if (s.networkIds.length !== 1 || s.networkIds[0] !== want.networkId) drift.push('network');
  if (s.restartCondition !== 'any') drift.push('restart_policy');
  for (const [k, v] of Object.entries(want.labels))
    if (s.labels[k] !== v && !drift.includes('labels')) drift.push('labels');
  return drift;
}

/** The service's spec as it is, with `replicas` replaced: a scale that keeps everything else. */
export function scaledSpec(s: ServiceState, replicas: number): TunnelServiceSpec {
  return {
    name: s.name,
    image: s.image,
    args: s.args,
    env: s.env,
    networkId: s.networkIds[0] ?? '',
    replicas,
    labels: s.labels,
    forceUpdate: s.forceUpdate,
  };
}

/**
 * The task was made from this spec: a task made before an update (another token or image) or before a restart
 * (a lower ForceUpdate) does not count.
 */
export const taskOf = (t: TaskState, spec: TunnelServiceSpec): boolean =>
  t.image === spec.image &&
  spec.env.every((e) => t.env.includes(e)) &&
  (spec.forceUpdate === undefined || t.forceUpdate === spec.forceUpdate);

/**
 * Scales the tunnel service to 0 and keeps it (stop, decommission); `found` is null when there is none. With
 * `clearToken` the token leaves its spec too (any manager's API reads a spec): once the master forgets the tunnel,
 * no copy of its token is left in the cluster. One already so is left as it is.
 */
export async function scaleToZero(swarm: SwarmPort, clearToken: boolean): Promise<{ found: ServiceState | null }> {
  const s = await swarm.inspectService(TUNNEL_CONTAINER);
  if (s === null) return { found: null };
  const env = clearToken ? s.env.filter((e) => !e.startsWith('TUNNEL_TOKEN=')) : s.env;
  if (s.replicas !== 0 || env.length !== s.env.length)
    await swarm.updateService(s.id, s.version, { ...scaledSpec(s, 0), env });
  if (env.length !== s.env.length) {
    // Swarm keeps the spec before an update as PreviousSpec (for a rollback): a second update replaces that one too.
    const again = await swarm.inspectService(s.id);
    if (again !== null) await swarm.updateService(again.id, again.version, { ...scaledSpec(again, 0), env });
  }
  return { found: s };
}
