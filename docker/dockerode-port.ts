/**
 * DockerPort over dockerode. DOCKER_HOST may be a unix socket or tcp:// (the socket proxy of the compose file);
 * no API version is pinned, so engines from API 1.41 up to 1.52 all work. Errors become DockerErrors; 304 on
 * stop and 404 on remove are success.
 */
import type { Socket } from 'node:net';
import type Docker from 'dockerode';
import type { ContainerInfo, DockerEventType } from '../domain/container.js';
import { ENABLE_LABELS, filterLabels, isManaged } from '../domain/labels.js';
import {
  DockerError,
  type ContainerState,
  type DockerPort,
  type EventHandlers,
  type EventSubscription,
  type Removal,
  type TunnelContainerSpec,
} from './port.js';
import { readEventStream } from './events.js';
import { both, isTaskContainer } from './swarm-inventory.js';
import { call, CALL_TIMEOUT_MS, demux, DockerodeCalls, PULL_TIMEOUT_MS } from './dockerode-call.js';

/** For a tcp:// proxy: a connection whose peer vanished (half-open) is found by TCP keep-alive probes after this. */
const EVENT_STREAM_KEEPALIVE_MS = 60_000;

export interface DockerodePortOptions {
  /** Deadline of an ordinary call (specs shorten it). */
  callTimeoutMs?: number;
  /** Swarm mode: a task's container is never listed, its service is the entry (docker/swarm-inventory.ts). */
  skipSwarmTasks?: boolean;
}

export class DockerodePort extends DockerodeCalls implements DockerPort {
  private readonly skipSwarmTasks: boolean;

  constructor(docker: Docker, opts: DockerodePortOptions = {}) {
    super(docker, opts.callTimeoutMs ?? CALL_TIMEOUT_MS);
    this.skipSwarmTasks = opts.skipSwarmTasks ?? false;
  }

  /**
   * Docker lists only the containers that carry an enable label, whatever its value (one list per label, in
   * parallel; Docker ANDs label filters): on a host of many unlabelled containers the reply was mostly theirs, a
   * megabyte to parse at 750. Whether the value is truthy is decided here, by the master's rule (isManaged). A
   * failure is the first list's before the second's, whichever came first: a lasting one then reads the same.
   */
  async listManagedContainers(signal?: AbortSignal): Promise<ContainerInfo[]> {
    const list = (key: string) =>
      this.call(
        'list containers',
        (abortSignal) => this.docker.listContainers({ all: false, filters: { label: [key] }, abortSignal }),
        signal,
      );
    const lists = await both(list(ENABLE_LABELS[0]), list(ENABLE_LABELS[1]));
    const byId = new Map(lists.flat().map((c) => [c.Id, c]));
    return [...byId.values()]
      .filter((c) => isManaged(c.Labels) && !(this.skipSwarmTasks && isTaskContainer(c.Labels)))
      .map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        status: c.State,
        labels: filterLabels(c.Labels),
      }));
  }

  async inspectContainer(idOrName: string, signal?: AbortSignal): Promise<ContainerState | null> {
    const info = await this.orAbsent(
      'inspect container',
      (abortSignal) => this.docker.getContainer(idOrName).inspect({ abortSignal }),
      signal,
    );
    if (!info) return null;
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      status: info.State.Status,
      running: info.State.Running,
      restarting: info.State.Restarting,
      image: info.Config.Image,
      env: info.Config.Env,
      startedAt: info.State.StartedAt,
      restartCount: info.RestartCount,
      exitCode: info.State.FinishedAt.startsWith('0001-') ? null : info.State.ExitCode,
      labels: info.Config.Labels,
    };
  }

  async subscribeEvents(
    sinceNano: bigint | null,
    actions: readonly string[],
    handlers: EventHandlers,
    signal?: AbortSignal,
    types: readonly DockerEventType[] = ['container'],
  ): Promise<EventSubscription> {
    const abort = new AbortController();
    // The owner may die while the request is being set up: its abort must reach the socket, not leak it.
    const onOwnerAbort = (): void => {
      abort.abort();
    };
    signal?.addEventListener('abort', onOwnerAbort, { once: true });
    // Seconds as a float with a 1 ms safety margin: replaying a little too much is deduplicated by the watcher,
    // starting a little too late would lose events.
    const since = sinceNano === null ? undefined : (Number(sinceNano / 1_000_000n) - 1) / 1000;
    if (signal?.aborted) abort.abort();
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.call('subscribe to events', (request) => {
        // The stream outlives the call: only a timeout of the subscription itself aborts it here.
        request.addEventListener('abort', onOwnerAbort, { once: true });
        return this.docker.getEvents({
          filters: { type: [...types], event: [...actions] },
          ...(since !== undefined ? { since } : {}),
          abortSignal: abort.signal,
        });
      });
    } catch (err) {
      signal?.removeEventListener('abort', onOwnerAbort);
      throw err;
    }
    (stream as NodeJS.ReadableStream & { socket?: Socket | null }).socket?.setKeepAlive(
      true,
      EVENT_STREAM_KEEPALIVE_MS,
    );
    let ended = false;
    const end = (reason: string): void => {
      if (ended) return;
      ended = true;
      handlers.onEnd(reason);
    };
    readEventStream(
      stream,
      (event) => {
        handlers.onEvent(event);
      },
      end,
      () => {
        close();
      },
    );
    function close(): void {
      ended = true;
      signal?.removeEventListener('abort', onOwnerAbort);
      abort.abort();
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    }
    if (signal?.aborted) close();
    else signal?.addEventListener('abort', close, { once: true });
    return { close };
  }

  async imageExists(ref: string): Promise<boolean> {
    // dockerode's image and network inspect take no abort signal: a timeout leaves that one request to the daemon.
    return (await this.orAbsent('inspect image', () => this.docker.getImage(ref).inspect())) !== null;
  }

  async pullImage(ref: string, onProgress: (status: string) => void): Promise<void> {
    // One abort for the request and its progress stream: a pull that outlasts its deadline is cancelled, not left
    // running.
    const pull = new AbortController();
    const stream = await this.call('pull image', (request) => {
      request.addEventListener(
        'abort',
        () => {
          pull.abort();
        },
        { once: true },
      );
      return this.docker.pull(ref, { abortSignal: pull.signal });
    });
    await call(
      'pull image',
      (progress) =>
        new Promise<void>((resolve, reject) => {
          progress.addEventListener(
            'abort',
            () => {
              pull.abort();
            },
            { once: true },
          );
          this.docker.modem.followProgress(
            stream,
            (err: Error | null, output: { error?: string }[]) => {
              const failed = output.find((o) => typeof o.error === 'string');
              if (err) reject(err);
              else if (failed?.error) reject(new Error(failed.error));
              else resolve();
            },
            (ev: { status?: string; id?: string }) => {
              if (ev.status) onProgress(ev.id ? `${ev.id}: ${ev.status}` : ev.status);
            },
          );
        }),
      PULL_TIMEOUT_MS,
    );
  }

  async networkExists(name: string): Promise<boolean> {
    return (await this.orAbsent('inspect network', () => this.docker.getNetwork(name).inspect())) !== null;
  }

  async createNetwork(name: string): Promise<void> {
    try {
      await this.call('create network', (abortSignal) =>
        this.docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, abortSignal }),
      );
    } catch (err) {
      // Someone else created it between our check and our create: that is what we wanted.
      if (err instanceof DockerError && err.kind === 'conflict') return;
      throw err;
    }
  }

  async createAndStart(spec: TunnelContainerSpec): Promise<string> {
    const container = await this.call('create container', (abortSignal) =>
      this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: [...spec.cmd],
        Env: [...spec.env],
        Labels: { ...spec.labels },
        HostConfig: { RestartPolicy: { Name: 'unless-stopped' }, NetworkMode: spec.network },
        abortSignal,
      }),
    );
    await this.call('start container', (abortSignal) => container.start({ abortSignal }));
    return container.id;
  }

  async stopContainer(idOrName: string, timeoutS: number): Promise<boolean> {
    try {
      await call(
        'stop container',
        (abortSignal) => this.docker.getContainer(idOrName).stop({ t: timeoutS, abortSignal }),
        timeoutS * 1000 + this.callTimeoutMs,
      );
    } catch (err) {
      // 304: already stopped; 404: already gone. Both are where we wanted to be.
      if (!(err instanceof DockerError) || (err.statusCode !== 304 && err.kind !== 'not_found')) throw err;
      return err.kind !== 'not_found';
    }
    return true;
  }

  async stopAndRemove(idOrName: string, timeoutS: number): Promise<Removal> {
    const c = this.docker.getContainer(idOrName);
    await this.stopContainer(idOrName, timeoutS);
    try {
      await this.call('remove container', (abortSignal) => c.remove({ force: true, abortSignal }));
    } catch (err) {
      if (!(err instanceof DockerError)) throw err;
      // A socket proxy that refuses DELETE (DELETE=0 where the proxy honours it): move the stopped one out of the way.
      if (err.statusCode === 403) return this.renameAside(c);
      // Gone already, or "removal already in progress" (409): it ends with the container gone.
      if (err.kind !== 'not_found' && err.kind !== 'conflict') throw err;
    }
    return { kind: 'removed' };
  }

  private async renameAside(c: Docker.Container): Promise<Removal> {
    const info = await this.call('inspect container', (abortSignal) => c.inspect({ abortSignal }));
    const stamp = new Date().toISOString().replace(/\D/g, '');
    const name = `${info.Name.replace(/^\//, '')}-replaced-${stamp}`;
    await this.call('rename container', (abortSignal) => c.rename({ name, abortSignal }));
    return { kind: 'renamed', name };
  }

  async logTail(id: string, lines: number): Promise<string[]> {
    const raw = await this.call('container logs', (abortSignal) =>
      this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false, abortSignal }),
    );
    return demux(raw)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .slice(-lines);
  }
}
