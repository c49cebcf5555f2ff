/**
 * The dockerode client this agent uses, and one Docker request with a deadline and errors mapped to DockerError.
 */
import http from 'node:http';
import type Docker from 'dockerode';
import { unbracketed } from '../domain/address.js';
import { loadDockerode } from './load-dockerode.js';
import { DockerError } from './port.js';

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
export const CALL_TIMEOUT_MS = 30_000;
/** A first pull of cloudflared on a slow link. */
export const PULL_TIMEOUT_MS = 10 * 60_000;

/**
 * One Docker request with a deadline. On timeout (or the owner's abort) the request itself is aborted: giving up on
 * the answer while leaving the request open would keep a socket per attempt against a wedged daemon, for as long as
 * it stays wedged. The signal is never aborted after a success: a returned stream lives on.
 */
export async function call<T>(
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

/** A call's result, or null when Docker answers 404: "is it there?" without an exception for "no". */
export async function orAbsent<T>(
  operation: string,
  fn: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  owner?: AbortSignal,
): Promise<T | null> {
  try {
    return await call(operation, fn, timeoutMs, owner);
  } catch (err) {
    if (err instanceof DockerError && err.kind === 'not_found') return null;
    throw err;
  }
}

/** What both dockerode adapters (containers, Swarm) share: every call with the adapter's deadline. */
export abstract class DockerodeCalls {
  constructor(
    protected readonly docker: Docker,
    protected readonly callTimeoutMs: number,
  ) {}

  protected call<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, owner?: AbortSignal): Promise<T> {
    return call(operation, fn, this.callTimeoutMs, owner);
  }

  protected orAbsent<T>(
    operation: string,
    fn: (signal: AbortSignal) => Promise<T>,
    owner?: AbortSignal,
  ): Promise<T | null> {
    return orAbsent(operation, fn, this.callTimeoutMs, owner);
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
