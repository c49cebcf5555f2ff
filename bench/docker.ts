/**
 * The Docker side of the benchmark: our own subscription to Docker's event stream (its `timeNano` is the start
 * of every latency figure), containers that carry this run's label (so cleanup finds every one), and a fast
 * /_ping watch for the daemon-restart scenario.
 */
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { parseEventLine } from '../docker/events.js';
import { TUNNEL_CONTAINER } from '../domain/tunnel.js';
import { pingDaemon } from '../spec/helpers/docker-daemon.js';
import { trueHealthcheck } from '../spec/helpers/docker-fixtures.js';
import { pause } from './util.js';

export { TUNNEL_CONTAINER };
export const BUSYBOX_IMAGE = process.env.DOCKERTEST_BUSYBOX_IMAGE ?? 'local/busybox:1';
/** Every container the benchmark creates carries this label with the run's id. */
export const BENCH_LABEL = 'dockflare-bench';
export const RUN_ID = randomBytes(4).toString('hex');

export function dockerClient(): Docker {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port) });
}

export function socketPath(): string | null {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  return host.startsWith('unix://') ? host.slice('unix://'.length) : null;
}

export interface SeenEvent {
  action: string;
  id: string;
  name: string;
  /** Docker's own time of the event, in ms with the sub-ms part kept (from timeNano). */
  ms: number;
  /** Date.now() when the line reached this process: the same path the agent's subscription takes, as a control. */
  receivedAt: number;
}

/** Records container events as Docker stamps them; the agent's view is then measured against these stamps. */
export class EventRecorder {
  readonly events: SeenEvent[] = [];
  private constructor(private readonly stream: NodeJS.ReadableStream & { destroy?: () => void }) {}

  static async start(docker: Docker): Promise<EventRecorder> {
    const stream = await docker.getEvents({ filters: { type: ['container'] } });
    const rec = new EventRecorder(stream);
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const receivedAt = Date.now();
        const e = parseEventLine(buf.slice(0, nl).trim());
        buf = buf.slice(nl + 1);
        if (!e) continue;
        // timeNano exceeds 2^53: divide as bigint first, keep the sub-millisecond remainder separately.
        const ms = Number(e.timeNano / 1_000_000n) + Number(e.timeNano % 1_000_000n) / 1e6;
        rec.events.push({ action: e.action, id: e.id, name: e.attributes.name ?? '', ms, receivedAt });
      }
    });
    // The stream ends when the daemon stops; the scenarios that stop it open a new recorder afterwards.
    stream.on('error', () => undefined);
    // No settling pause: Docker sends the response headers only after it has subscribed, so from here on
    // nothing is missed (and the daemon-restart scenario must not lose time before its container start).
    return rec;
  }

  first(pred: (e: SeenEvent) => boolean): SeenEvent | undefined {
    return this.events.find(pred);
  }

  close(): void {
    this.stream.destroy?.();
  }
}

export interface BenchContainer {
  id: string;
  name: string;
}

/**
 * A busybox container that sleeps until stopped: docker-init as PID 1 forwards TERM (fast stops), no network.
 * With `healthEveryMs`, spec/helpers' trueHealthcheck: Docker then publishes exec_create, exec_start and exec_die
 * events for it at that rate, as for any healthchecked container on a real host.
 */
export async function createContainer(
  docker: Docker,
  labels: Record<string, string>,
  prefix = 'dfa-bench',
  healthEveryMs?: number,
): Promise<BenchContainer> {
  const name = `${prefix}-${RUN_ID}-${randomBytes(3).toString('hex')}`;
  const c = await docker.createContainer({
    name,
    Image: BUSYBOX_IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: { ...labels, [BENCH_LABEL]: RUN_ID },
    HostConfig: { Init: true, NetworkMode: 'none' },
    ...(healthEveryMs !== undefined ? { Healthcheck: trueHealthcheck(healthEveryMs) } : {}),
  });
  return { id: c.id, name };
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

export async function inspectOrNull(docker: Docker, idOrName: string): Promise<Docker.ContainerInspectInfo | null> {
  try {
    return await docker.getContainer(idOrName).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

export async function removeForce(docker: Docker, idOrName: string): Promise<void> {
  try {
    await docker.getContainer(idOrName).remove({ force: true });
  } catch (err) {
    const s = statusOf(err);
    if (s !== 404 && s !== 409) throw err;
  }
}

/** Removes every container of this run, the tunnel container and the bench network; best effort, never throws. */
export async function cleanupDocker(docker: Docker, network: string): Promise<string[]> {
  const problems: string[] = [];
  try {
    const list = await docker.listContainers({ all: true, filters: { label: [`${BENCH_LABEL}=${RUN_ID}`] } });
    await Promise.all(
      list.map((c) =>
        removeForce(docker, c.Id).catch((err: unknown) => {
          problems.push(`container ${c.Id.slice(0, 12)}: ${String(err)}`);
        }),
      ),
    );
  } catch (err) {
    problems.push(`list containers: ${String(err)}`);
  }
  await removeForce(docker, TUNNEL_CONTAINER).catch((err: unknown) => {
    problems.push(`tunnel container: ${String(err)}`);
  });
  try {
    await docker.getNetwork(network).remove();
  } catch (err) {
    if (statusOf(err) !== 404) problems.push(`network ${network}: ${String(err)}`);
  }
  return problems;
}

/**
 * Resolves with Date.now() of the first successful /_ping, polling every 10 ms (finer than the 100 ms of the spec
 * helper).
 */
export async function firstPing(socket: string, timeoutMs: number): Promise<number | null> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pingDaemon(socket)) return Date.now();
    await pause(10);
  }
  return null;
}
