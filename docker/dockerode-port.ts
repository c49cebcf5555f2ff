/**
 * DockerPort over dockerode. DOCKER_HOST may be a unix socket or tcp:// (the socket proxy of the compose file);
 * no API version is pinned, so engines from API 1.41 up to 1.52 all work. Errors become DockerErrors; 304 on
 * stop and 404 on remove are success.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { loadDockerode } from './load-dockerode.js';
import type { ContainerInfo, DockerEvent } from '../domain/container.js';
import { filterLabels, isManaged } from '../domain/labels.js';
import { unbracketed } from '../domain/address.js';
import {
  DockerError,
  type ContainerState,
  type DockerPort,
  type EventHandlers,
  type EventSubscription,
  type TunnelContainerSpec,
} from './port.js';
import { parseEventLine } from './events.js';

/**
 * dockerd keeps idle client connections open (Go's http.Server has no idle timeout unless configured), so one
 * kept-alive socket serves every periodic scan and inspect; Node's global agent drops an idle socket after 5 s,
 * shorter than any report interval, and each cycle paid for a new connection (paired experiment: ~0.5 ms of CPU
 * per 5 s cycle). Free sockets are unref'd by Node, so the pool never keeps a process alive. Only for unix://: a tcp://
 * socket proxy may close idle connections at a timeout it does not announce, racing a reused socket.
 */
const DOCKER_IDLE_SOCKET_MS = 60_000;

export function dockerFromHost(host: string): Docker {
  const DockerClient = loadDockerode();
  if (host.startsWith('unix://')) {
    // docker-modem reads `agent` from the options dockerode hands it; @types/dockerode does not list the field.
    const options: Docker.DockerOptions & { agent: http.Agent } = {
      socketPath: host.slice('unix://'.length),
      agent: new http.Agent({ keepAlive: true, timeout: DOCKER_IDLE_SOCKET_MS, maxFreeSockets: 2, scheduling: 'lifo' }),
    };
    return new DockerClient(options);
  }
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  // docker-py's defaults: 2375 for plain tcp://, 2376 for https; an IPv6 literal without its brackets.
  const https = url.protocol === 'https:';
  const port = url.port === '' ? (https ? 2376 : 2375) : Number(url.port);
  return new DockerClient({ host: unbracketed(url.hostname), port, protocol: https ? 'https' : 'http' });
}

function mapError(operation: string, err: unknown): DockerError {
  const e = err as Error & { statusCode?: number; code?: string; json?: { message?: string } | null };
  const status = typeof e.statusCode === 'number' ? e.statusCode : null;
  const message = e.json?.message ?? e.message;
  if (status === 404) return new DockerError('not_found', operation, status, message, { cause: err });
  if (status === 409) return new DockerError('conflict', operation, status, message, { cause: err });
  if (status === null)
    return new DockerError('unavailable', operation, null, `${e.code ?? e.name}: ${message}`, { cause: err });
  return new DockerError('failed', operation, status, message, { cause: err });
}

/** A Docker call that hangs (a wedged daemon, a stuck proxy) must not hold an actor's mailbox past this. */
const CALL_TIMEOUT_MS = 30_000;
/** A first pull of cloudflared on a slow link. */
const PULL_TIMEOUT_MS = 10 * 60_000;
/** `cloudflared --version` answers at once; a hung exec must not stall the keeper. */
const EXEC_TIMEOUT_MS = 10_000;

/**
 * One Docker request with a deadline. On timeout (or the owner's abort) the request itself is aborted: giving up on
 * the answer while leaving the request open would keep a socket per attempt against a wedged daemon, for as long as
 * it stays wedged. The signal is never aborted after a success: a returned stream lives on.
 */
async function call<T>(
  operation: string,
  fn: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  owner?: AbortSignal,
): Promise<T> {
  const abort = new AbortController();
  const onOwnerAbort = (): void => {
    abort.abort();
  };
  owner?.addEventListener('abort', onOwnerAbort, { once: true });
  if (owner?.aborted) abort.abort();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new DockerError('unavailable', operation, null, `no answer within ${timeoutMs} ms`));
      abort.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(abort.signal), timeout]);
  } catch (err) {
    throw err instanceof DockerError ? err : mapError(operation, err);
  } finally {
    clearTimeout(timer);
    owner?.removeEventListener('abort', onOwnerAbort);
  }
}

/** An event line longer than this is not one dockerd sends (labels included): the stream is broken. */
const MAX_EVENT_LINE_CHARS = 1024 * 1024;
/** For a tcp:// proxy: a connection whose peer vanished (half-open) is found by TCP keep-alive probes after this. */
const EVENT_STREAM_KEEPALIVE_MS = 60_000;

export interface DockerodePortOptions {
  /** Deadline of an ordinary call (specs shorten it). */
  callTimeoutMs?: number;
}

export class DockerodePort implements DockerPort {
  private readonly callTimeoutMs: number;

  constructor(
    private readonly docker: Docker,
    opts: DockerodePortOptions = {},
  ) {
    this.callTimeoutMs = opts.callTimeoutMs ?? CALL_TIMEOUT_MS;
  }

  private call<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, owner?: AbortSignal): Promise<T> {
    return call(operation, fn, this.callTimeoutMs, owner);
  }

  /** The call's result, or null when Docker answers 404: "is it there?" without an exception for "no". */
  private async orAbsent<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    owner?: AbortSignal,
  ): Promise<T | null> {
    try {
      return await this.call(operation, fn, owner);
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'not_found') return null;
      throw err;
    }
  }

  async listManagedContainers(signal?: AbortSignal): Promise<ContainerInfo[]> {
    const list = await this.call(
      'list containers',
      (abortSignal) => this.docker.listContainers({ all: false, abortSignal }),
      signal,
    );
    return list
      .filter((c) => isManaged(c.Labels))
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
          filters: { type: ['container'], event: [...actions] },
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
    let buffer = '';
    // A character split across two chunks must not become two replacement characters (labels are UTF-8).
    const decoder = new StringDecoder('utf8');
    stream.on('data', (chunk: Buffer) => {
      buffer += decoder.write(chunk);
      if (buffer.length > MAX_EVENT_LINE_CHARS && !buffer.includes('\n')) {
        buffer = '';
        end(`an event line over ${MAX_EVENT_LINE_CHARS} characters`);
        close();
        return;
      }
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        const event: DockerEvent | null = parseEventLine(line);
        if (event) handlers.onEvent(event);
      }
    });
    // A stopped daemon ends the stream with an error ("aborted") and then close, never end.
    stream.on('error', (err: Error) => {
      end(`error: ${err.message}`);
    });
    stream.on('end', () => {
      end('ended');
    });
    stream.on('close', () => {
      end('closed');
    });
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

  async stopAndRemove(idOrName: string, timeoutS: number): Promise<void> {
    const c = this.docker.getContainer(idOrName);
    try {
      await call(
        'stop container',
        (abortSignal) => c.stop({ t: timeoutS, abortSignal }),
        timeoutS * 1000 + this.callTimeoutMs,
      );
    } catch (err) {
      // 304: already stopped; 404: already gone. Both are where we wanted to be.
      if (!(err instanceof DockerError) || (err.statusCode !== 304 && err.kind !== 'not_found')) throw err;
    }
    try {
      await this.call('remove container', (abortSignal) => c.remove({ force: true, abortSignal }));
    } catch (err) {
      if (!(err instanceof DockerError) || err.kind !== 'not_found') {
        // "removal already in progress" (409) also ends with the container gone.
        if (!(err instanceof DockerError && err.kind === 'conflict')) throw err;
      }
    }
  }

  async execFirstLine(id: string, cmd: readonly string[]): Promise<string | null> {
    const exec = await this.call('exec create', (abortSignal) =>
      this.docker.getContainer(id).exec({ Cmd: [...cmd], AttachStdout: true, AttachStderr: true, abortSignal }),
    );
    const stream = await call(
      'exec start',
      (abortSignal) => exec.start({ hijack: true, stdin: false, abortSignal }),
      EXEC_TIMEOUT_MS,
    );
    const output = await call(
      'exec output',
      () =>
        new Promise<string>((resolve, reject) => {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            resolve(demux(Buffer.concat(chunks)));
          });
          stream.on('error', reject);
        }),
      EXEC_TIMEOUT_MS,
    ).finally(() => {
      stream.destroy();
    });
    const line = output
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '');
    return line ?? null;
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

/** Docker's multiplexed stream format: frames of [stream, 0, 0, 0, size(u32 BE)] + payload. */
export function demux(buf: Buffer): string {
  if (buf.length < 8 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) return buf.toString('utf8');
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}
