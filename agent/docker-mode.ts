/**
 * Which Docker the agent serves (DOCKER_MODE, docs/swarm.md): a standalone engine's containers, or a swarm's services
 * from one of its managers. `auto` asks the engine and serves the swarm only where that can work (an active manager
 * whose tunnel network, if it exists, is an attachable overlay); `swarm` where it cannot is a configuration error
 * (exit 78), said in one line. An engine that does not answer yet is waited for: a host booting starts the agent
 * before Docker is up.
 */
import { isDockerError } from '../docker/port.js';
import { unusableNetwork, type SwarmPort, type SwarmRole } from '../docker/swarm-port.js';
import type { Logger } from '../log/logger.js';
import { failureDelay } from '../supervisor/backoff.js';
import type { Clock } from '../supervisor/clock.js';

export type DockerMode = 'standalone' | 'swarm';

export type ModeDecision =
  { readonly ok: true; readonly mode: DockerMode } | { readonly ok: false; readonly line: string };

export interface ModeDeps {
  swarm: SwarmPort;
  log: Logger;
  clock: Clock;
  random: () => number;
}

const WAIT_FIRST_MS = 1000;
const WAIT_CAP_MS = 30_000;
/**
 * How long `auto` waits for an engine that does not answer before it serves containers: the agent must register and
 * report while Docker is down (a standalone agent always did). `swarm` waits as long as it takes.
 */
export const AUTO_WAIT_MS = 5000;

const describe = (r: SwarmRole): string =>
  r.localNodeState !== 'active'
    ? `its swarm state is ${r.localNodeState}`
    : r.manager
      ? 'it is a manager'
      : 'it is a worker, and the services API answers on managers only';

/**
 * The engine's role, waiting while it does not answer (for at most `maxWaitMs`). A refusal (a socket proxy without
 * INFO answers 403) or an answer that makes no sense is an answer, and so is a wait that ran out.
 */
async function roleWhenReachable(deps: ModeDeps, maxWaitMs: number): Promise<SwarmRole | { refused: string }> {
  const since = deps.clock.monotonic();
  for (let attempt = 1; ; attempt++) {
    try {
      // A wedged proxy must not hold auto past its wait either (a call's own deadline is 30 s).
      const left = maxWaitMs - (deps.clock.monotonic() - since);
      return await deps.swarm.swarmRole(
        Number.isFinite(left) ? AbortSignal.timeout(Math.max(1, Math.ceil(left))) : undefined,
      );
    } catch (err) {
      if (!isDockerError(err)) throw err;
      if (err.kind !== 'unavailable' && (err.statusCode === null || err.statusCode < 500))
        return { refused: err.message };
      const waited = deps.clock.monotonic() - since;
      if (waited >= maxWaitMs) return { refused: `no answer within ${Math.round(waited / 1000)} s: ${err.message}` };
      const delayMs = Math.min(
        failureDelay(attempt, WAIT_FIRST_MS, WAIT_CAP_MS, deps.random()),
        Math.max(0, maxWaitMs - waited),
      );
      deps.log[attempt === 1 ? 'warn' : 'debug'](
        { event: 'docker_mode_waiting', kind: err.kind, err, retryInMs: delayMs },
        'Docker does not answer yet; waiting to choose the mode',
      );
      await new Promise<void>((resolve) => deps.clock.setTimeout(resolve, delayMs));
    }
  }
}

export async function decideDockerMode(
  wanted: 'auto' | 'standalone' | 'swarm',
  network: string,
  deps: ModeDeps,
): Promise<ModeDecision> {
  if (wanted === 'standalone') return { ok: true, mode: 'standalone' };
  const role = await roleWhenReachable(deps, wanted === 'swarm' ? Infinity : AUTO_WAIT_MS);
  if ('refused' in role) {
    if (wanted === 'swarm') return { ok: false, line: `DOCKER_MODE=swarm, but Docker refused /info: ${role.refused}` };
    deps.log.info(
      { event: 'docker_mode', mode: 'standalone', why: `auto: no swarm role from Docker (${role.refused})` },
      "serving this engine's containers; set DOCKER_MODE=swarm on a manager whose Docker may start late",
    );
    return { ok: true, mode: 'standalone' };
  }
  const serves = role.localNodeState === 'active' && role.manager;
  if (!serves) {
    if (wanted === 'swarm')
      return { ok: false, line: `DOCKER_MODE=swarm, but this engine cannot serve a swarm: ${describe(role)}` };
    deps.log.info(
      { event: 'docker_mode', mode: 'standalone', why: `auto: ${describe(role)}` },
      "serving this engine's containers",
    );
    return { ok: true, mode: 'standalone' };
  }
  // The role said "manager": a network that cannot be read now is checked again by the keeper before it is used.
  const net = await deps.swarm.inspectNetwork(network).catch((err: unknown) => {
    if (!isDockerError(err)) throw err;
    deps.log.warn({ event: 'docker_mode_network_unknown', network, err }, 'could not read the tunnel network');
    return null;
  });
  const why = net === null ? null : unusableNetwork(net);
  if (why !== null && wanted === 'swarm')
    return {
      ok: false,
      line: `CLOUDFLARED_NETWORK_NAME=${network}: ${why}; Swarm mode needs an attachable overlay network (or none of that name)`,
    };
  if (why !== null) {
    // A manager whose containers run from a compose file on a bridge network: auto keeps serving them as before.
    deps.log.warn(
      { event: 'docker_mode', mode: 'standalone', network, why: `auto: a manager, but ${network}: ${why}` },
      "serving this engine's containers; set DOCKER_MODE=swarm (with an attachable overlay network) to serve the swarm",
    );
    return { ok: true, mode: 'standalone' };
  }
  deps.log.info(
    {
      event: 'docker_mode',
      mode: 'swarm',
      why: wanted === 'auto' ? 'auto: an active Swarm manager' : 'DOCKER_MODE=swarm',
      nodes: role.nodes,
    },
    "serving the swarm's services",
  );
  return { ok: true, mode: 'swarm' };
}
