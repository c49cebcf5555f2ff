/**
 * Restarting the private dockerd that scripts/with-dockerd.sh started (Docker-side specs: the daemon goes away
 * under a running agent). Only possible when the engine is private: with-dockerd.sh then exports DOCKERTEST_DIR
 * and DOCKERTEST_DOCKERD_ARGS. Against a shared engine (DOCKER_HOST given by the user) `privateDaemon()` is null
 * and the spec that needs it must skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

export interface PrivateDaemon {
  dir: string;
  args: string[];
  socketPath: string;
}

/** Daemons this process started: their exit must be awaited here (a zombie still answers `kill -0`). */
const children = new Map<number, ChildProcess>();

export function privateDaemon(): PrivateDaemon | null {
  const dir = process.env.DOCKERTEST_DIR;
  const rawArgs = process.env.DOCKERTEST_DOCKERD_ARGS;
  if (!dir || !rawArgs) return null;
  const args = rawArgs.split(/\s+/).filter((a) => a !== '');
  const hostArg = args.find((a) => a.startsWith('--host=unix://'));
  const socketPath = hostArg ? hostArg.slice('--host=unix://'.length) : path.join(dir, 'docker.sock');
  return { dir, args, socketPath };
}

/** GET /_ping on the daemon's socket; true on 200 within 1 s. */
export function pingDaemon(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: '/_ping', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => {
      resolve(false);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const pause = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM to the pid in docker.pid, then waits (bounded) until that process is gone and /_ping fails. */
export async function stopDaemon(d: PrivateDaemon, timeoutMs = 30_000): Promise<void> {
  const pid = Number((await readFile(path.join(d.dir, 'docker.pid'), 'utf8')).trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`docker-daemon: no valid pid in ${d.dir}/docker.pid`);
  const child = children.get(pid);
  const exited =
    child && child.exitCode === null && child.signalCode === null
      ? new Promise<void>((resolve) => {
          child.once('exit', () => {
            resolve();
          });
        })
      : null;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  if (exited) {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, timeoutMs);
    });
    const outcome = await Promise.race([exited.then(() => 'exited' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout')
      throw new Error(`docker-daemon: dockerd ${pid} still running ${timeoutMs} ms after SIGTERM`);
    children.delete(pid);
  } else {
    while (alive(pid)) {
      if (Date.now() > deadline)
        throw new Error(`docker-daemon: dockerd ${pid} still running ${timeoutMs} ms after SIGTERM`);
      await pause(100);
    }
  }
  while (await pingDaemon(d.socketPath)) {
    if (Date.now() > deadline) throw new Error('docker-daemon: the socket still answers /_ping after dockerd exited');
    await pause(100);
  }
}

/** Starts `dockerd $DOCKERTEST_DOCKERD_ARGS` detached (output appended to dockerd.log) and waits for /_ping. */
export async function startDaemon(d: PrivateDaemon, timeoutMs = 30_000): Promise<number> {
  const logFd = openSync(path.join(d.dir, 'dockerd.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn('dockerd', d.args, { detached: true, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const spawnError = new Promise<Error>((resolve) => {
    child.once('error', resolve);
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`docker-daemon: could not start dockerd: ${(await spawnError).message}`);
  children.set(pid, child);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(pid);
      throw new Error(
        `docker-daemon: dockerd exited (${child.exitCode ?? child.signalCode}) while starting:\n${await tail(path.join(d.dir, 'dockerd.log'))}`,
      );
    }
    if (await pingDaemon(d.socketPath)) return pid;
    if (Date.now() > deadline)
      throw new Error(
        `docker-daemon: dockerd did not answer /_ping within ${timeoutMs} ms:\n${await tail(path.join(d.dir, 'dockerd.log'))}`,
      );
    await pause(100);
  }
}

/** Makes sure the private daemon answers (used by cleanup after a spec that stopped it and then failed). */
export async function ensureDaemonRunning(d: PrivateDaemon): Promise<void> {
  if (await pingDaemon(d.socketPath)) return;
  let pid: number | null;
  try {
    pid = Number((await readFile(path.join(d.dir, 'docker.pid'), 'utf8')).trim());
  } catch {
    pid = null;
  }
  if (pid !== null && alive(pid)) {
    // Still starting or still stopping: give it a bounded moment to settle either way.
    const deadline = Date.now() + 30_000;
    while (alive(pid) && !(await pingDaemon(d.socketPath)) && Date.now() < deadline) await pause(100);
    if (await pingDaemon(d.socketPath)) return;
  }
  await startDaemon(d);
}
