/**
 * The one container fixture module of the specs: labelled busybox containers that stop at once (docker-init as PID 1
 * forwards TERM), no network, always carrying TEST_LABEL so cleanup finds every one; their cleanup with the tunnel
 * container's; bounded polling for Docker state that has no event to await, and the tunnel container's inspect.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import { BUSYBOX_IMAGE, TEST_LABEL, testDocker } from './docker.js';

export { TUNNEL_CONTAINER };

export interface TestContainer {
  id: string;
  name: string;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * A HEALTHCHECK running `true` every `everyMs`: Docker runs each check as an exec (exec_* events) and reports
 * health_status.
 */
export function trueHealthcheck(everyMs: number): Docker.HealthConfig {
  return { Test: ['CMD', 'true'], Interval: everyMs * 1_000_000, Timeout: 1_000_000_000, Retries: 1 };
}

/** Creates (and by default starts) a busybox container that sleeps until stopped, labelled for cleanup. */
export async function runLabelled(
  docker: Docker,
  opts: {
    name?: string;
    labels: Record<string, string>;
    start?: boolean;
    restart?: 'no' | 'always' | 'unless-stopped';
    cmd?: string[];
    /** With trueHealthcheck(healthEveryMs). */
    healthEveryMs?: number;
  },
): Promise<TestContainer> {
  const name = opts.name ?? uniqueName('dfa-ds');
  const container = await docker.createContainer({
    name,
    Image: BUSYBOX_IMAGE,
    Cmd: opts.cmd ?? ['sleep', '3600'],
    Labels: { ...opts.labels, [TEST_LABEL]: 'docker-side' },
    HostConfig: { Init: true, NetworkMode: 'none', RestartPolicy: { Name: opts.restart ?? 'no' } },
    ...(opts.healthEveryMs !== undefined ? { Healthcheck: trueHealthcheck(opts.healthEveryMs) } : {}),
  });
  if (opts.start !== false) await container.start();
  return { id: container.id, name };
}

/** What `op` returns, or null when Docker answers 404 (the object does not exist); other errors are thrown. */
export async function absentOn404<T>(op: () => Promise<T>): Promise<T | null> {
  try {
    return await op();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

/** The container's inspect, or null when Docker says 404. */
export function inspectOrNull(docker: Docker, idOrName: string): Promise<Docker.ContainerInspectInfo | null> {
  return absentOn404(() => docker.getContainer(idOrName).inspect());
}

/** Starts a labelled container (enabled by default) on the specs' engine; its id. */
export async function startLabelled(
  name: string,
  labels: Record<string, string> = { 'dockflare.enable': 'true' },
): Promise<string> {
  return (await runLabelled(testDocker(), { name, labels, cmd: ['sleep', '600'] })).id;
}

/** Stops a container with a short grace; one already gone is fine. */
export async function stopContainer(id: string, docker: Docker = testDocker()): Promise<void> {
  await docker
    .getContainer(id)
    .stop({ t: 2 })
    .catch(() => undefined);
}

/** Force-removes every container carrying TEST_LABEL; a container already gone is fine. */
export async function removeTestContainers(docker: Docker = testDocker()): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
  await Promise.all(
    list.map(async (c) => {
      try {
        await docker.getContainer(c.Id).remove({ force: true });
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) throw err;
      }
    }),
  );
}

/** The test containers and the tunnel container: what a spec that ran an agent leaves behind. */
export async function removeSpecContainers(docker: Docker = testDocker()): Promise<void> {
  await removeTestContainers(docker);
  await removeTunnelContainer(docker);
}

export async function removeTunnelContainer(docker: Docker = testDocker()): Promise<void> {
  try {
    await docker.getContainer(TUNNEL_CONTAINER).remove({ force: true });
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw err;
  }
}

const pause = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Polls `probe` until it returns something other than undefined/null/false, for Docker state that has no event
 * a spec could await. Rejects with `what` (and the probe's last error, if any) after `timeoutMs`.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let probeError: unknown;
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      probeError = err;
    }
    if (Date.now() >= deadline) {
      const why = probeError instanceof Error ? ` (last error: ${probeError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await pause(intervalMs);
  }
}

/** The tunnel container's inspect once it runs (optionally: a different one than `notId`). */
export function waitForTunnelRunning(
  docker: Docker,
  timeoutMs: number,
  notId?: string,
): Promise<Docker.ContainerInspectInfo> {
  return pollUntil(
    async () => {
      const info = await inspectOrNull(docker, TUNNEL_CONTAINER);
      return info?.State.Running === true && info.Id !== notId ? info : null;
    },
    timeoutMs,
    `${TUNNEL_CONTAINER} running${notId ? ` as a container other than ${notId.slice(0, 12)}` : ''}`,
  );
}
