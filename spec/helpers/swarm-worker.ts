/**
 * A second Docker Engine joined to the test swarm as a worker, on this one machine: its own network namespace (its
 * own address, so Swarm's ports 2377/7946/4789 do not collide) linked to the host by a veth pair, its own
 * directories, and the test images loaded into it (there is no registry to pull from). Entered with `nsenter --net`
 * only: `ip netns exec` would remount /sys and hide the cgroups dockerd needs. Needs root and iproute2; `workerSupport`
 * says why not where it cannot run.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { pingDaemon } from './docker-daemon.js';
import { BUSYBOX_IMAGE, CLOUDFLARED_IMAGE } from './docker.js';
import { pollUntil } from './docker-fixtures.js';

const run = promisify(execFile);

export const MANAGER_ADDR = '10.77.0.1';
const WORKER_ADDR = '10.77.0.2';
const NETNS = 'dfa-worker';
const VETH = 'dfa-w0';
const PEER = 'dfa-w1';
const DIR = '/tmp/dockflare-worker';

export interface WorkerNode {
  docker: Docker;
  nodeId: string;
  stop(): Promise<void>;
}

/** null when a worker can be started here; otherwise why not. */
export function workerSupport(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (a network namespace and a second dockerd)';
  if (!process.env.DOCKERTEST_DIR) return 'needs the private dockerd of scripts/with-dockerd.sh';
  for (const tool of ['/usr/sbin/ip', '/usr/bin/nsenter'])
    if (!existsSync(tool)) return `needs ${tool} (iproute2, util-linux)`;
  return null;
}

async function sh(cmd: string, args: string[]): Promise<void> {
  await run(cmd, args);
}

/** Removes what an earlier, interrupted run left: the namespace, the link, the daemon, its directories. */
async function tearDown(): Promise<void> {
  await run('pkill', ['-f', `dockerd --host=unix://${DIR}/docker.sock`]).catch(() => undefined);
  await pollUntil(async () => !(await pingDaemon(`${DIR}/docker.sock`)), 20_000, 'the worker dockerd gone', 100);
  await run('pkill', ['-f', `containerd-shim-runc-v2.*${DIR}`]).catch(() => undefined);
  await sh('ip', ['netns', 'del', NETNS]).catch(() => undefined);
  await sh('ip', ['link', 'del', VETH]).catch(() => undefined);
  await rm(DIR, { recursive: true, force: true });
}

async function loadImage(from: Docker, to: Docker, image: string): Promise<void> {
  const progress = await to.loadImage(await from.getImage(image).get());
  await new Promise<void>((resolve, reject) => {
    to.modem.followProgress(progress, (err: Error | null) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * A two-node swarm: the test engine made its manager on MANAGER_ADDR (taken out of any swarm it was in first), and a
 * worker started and joined.
 */
export async function startTwoNodeSwarm(manager: Docker): Promise<WorkerNode> {
  await tearDown();
  await sh('ip', ['netns', 'add', NETNS]);
  await sh('ip', ['link', 'add', VETH, 'type', 'veth', 'peer', 'name', PEER]);
  await sh('ip', ['link', 'set', PEER, 'netns', NETNS]);
  await sh('ip', ['addr', 'add', `${MANAGER_ADDR}/24`, 'dev', VETH]);
  await sh('ip', ['link', 'set', VETH, 'up']);
  await sh('ip', ['netns', 'exec', NETNS, 'ip', 'addr', 'add', `${WORKER_ADDR}/24`, 'dev', PEER]);
  await sh('ip', ['netns', 'exec', NETNS, 'ip', 'link', 'set', PEER, 'up']);
  await sh('ip', ['netns', 'exec', NETNS, 'ip', 'link', 'set', 'lo', 'up']);
  await mkdir(DIR, { recursive: true });
  const daemon = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${NETNS}`,
      'dockerd',
      `--host=unix://${DIR}/docker.sock`,
      `--data-root=${DIR}/root`,
      `--exec-root=${DIR}/exec`,
      `--pidfile=${DIR}/docker.pid`,
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
    ],
    { stdio: 'ignore', detached: true },
  );
  daemon.unref();
  await pollUntil(() => pingDaemon(`${DIR}/docker.sock`), 30_000, 'the worker dockerd', 100);
  const docker = new Docker({ socketPath: `${DIR}/docker.sock` });
  // The test images, from the manager's engine: saved there, loaded here.
  await loadImage(manager, docker, BUSYBOX_IMAGE);
  await loadImage(manager, docker, CLOUDFLARED_IMAGE);
  const state = (await manager.info()) as { Swarm?: { LocalNodeState?: string } };
  if (state.Swarm?.LocalNodeState === 'active') await manager.swarmLeave({ force: true });
  await manager.swarmInit({ ListenAddr: `${MANAGER_ADDR}:2377`, AdvertiseAddr: MANAGER_ADDR });
  const swarm = (await manager.swarmInspect()) as { JoinTokens: { Worker: string } };
  await docker.swarmJoin({
    ListenAddr: `${WORKER_ADDR}:2377`,
    AdvertiseAddr: WORKER_ADDR,
    RemoteAddrs: [`${MANAGER_ADDR}:2377`],
    JoinToken: swarm.JoinTokens.Worker,
  });
  const info = (await docker.info()) as { Swarm: { NodeID: string } };
  return {
    docker,
    nodeId: info.Swarm.NodeID,
    async stop() {
      await docker.swarmLeave({ force: true }).catch(() => undefined);
      await manager.swarmLeave({ force: true }).catch(() => undefined);
      await tearDown();
    },
  };
}
