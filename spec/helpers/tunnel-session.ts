/**
 * What the tunnel keeper's Docker-side specs share: an in-process agent against the test master and the private
 * dockerd, enrolled with its tunnel container running, and the files and networks the specs look at.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { tunnelGet } from '../../messages/tunnel-keeper.js';
import type { TunnelView } from '../../domain/tunnel.js';
import { ask } from '../../supervisor/actor-ref.js';
import { type InProcessAgent } from './agent-harness.js';
import { testDocker } from './docker.js';
import { waitForAccepted, type Body } from './docker-events.js';
import {
  absentOn404,
  removeTestContainers,
  removeTunnelContainer,
  uniqueName,
  waitForTunnelRunning,
} from './docker-fixtures.js';
import { useSpecSession } from './spec-session.js';
import type { RecordedRequest, TestMaster } from '../master/index.js';

export interface TunnelFile {
  token: string | null;
  id: string | null;
  name: string | null;
  desired_state: string;
}

export const ERROR = 50;
export const DEBUG = 20;

export async function readTunnelFile(dataDir: string): Promise<TunnelFile> {
  return JSON.parse(await readFile(path.join(dataDir, 'tunnel_state.json'), 'utf8')) as TunnelFile;
}

export async function removeNetwork(docker: Docker, name: string): Promise<void> {
  await absentOn404(() => docker.getNetwork(name).remove());
}

export async function networkExists(docker: Docker, name: string): Promise<boolean> {
  return (await absentOn404(() => docker.getNetwork(name).inspect())) !== null;
}

export interface Enrolled {
  agentId: string;
  tunnelId: string;
  tunnelName: string;
  token: string;
  info: Docker.ContainerInspectInfo;
}

/**
 * The session of one describe: cleans containers before and after each spec; `state` holds the spec's `master`
 * and `agent` variables, which `startEnrolled` sets.
 */
export function useTunnelSession(state: {
  get: () => { agent: InProcessAgent | undefined };
  set: (master: TestMaster, agent: InProcessAgent) => void;
}) {
  const docker = testDocker();
  const harness = useSpecSession(async () => {
    await removeTunnelContainer(docker);
    await removeTestContainers(docker);
  });

  /** A registered agent, enrolled by the master, with its tunnel container running and reported. */
  async function startEnrolled(env: Record<string, string> = {}): Promise<Enrolled> {
    const master = await harness.master();
    const agent = await harness.agent({ env });
    state.set(master, agent);
    const agentId = await agent.registered();
    const tunnelName = uniqueName('dfa-tunnel');
    const { tunnelId, token } = master.enroll(agentId, tunnelName);
    const info = await waitForTunnelRunning(docker, 15_000);
    await waitForAccepted(master, 'tunnel_status', {
      where: (b) => b.status === 'running',
      timeoutMs: 10_000,
      what: 'tunnel_status running',
    });
    return { agentId, tunnelId, tunnelName, token, info };
  }

  /** An agent enrolled with a 3 s start confirm, and its first tunnel container, running but not yet confirmed. */
  async function enrolledInConfirm(): Promise<{
    master: TestMaster;
    agent: InProcessAgent;
    container: Docker.ContainerInspectInfo;
  }> {
    const m = await harness.master();
    const a = await harness.agent({ env: { TUNNEL_START_CONFIRM_MS: '3000' } });
    m.enroll(await a.registered(), uniqueName('dfa-tunnel'));
    return { master: m, agent: a, container: await waitForTunnelRunning(docker, 15_000) };
  }

  /** Replies once the keeper has handled everything sent to it before: a barrier on its mailbox. */
  function keeperView(): Promise<TunnelView> {
    return ask(state.get().agent!.agent.cells.tunnelKeeper, tunnelGet, 15_000);
  }

  const acceptedHeartbeat =
    (after: number) =>
    (r: RecordedRequest): boolean =>
      r.endpoint === 'events' && (r.body as Body | undefined)?.type === 'heartbeat' && r.status === 202 && r.at > after;

  beforeEach(async () => {
    await removeTunnelContainer(docker);
    await removeTestContainers(docker);
  });
  return { docker, harness, startEnrolled, enrolledInConfirm, keeperView, acceptedHeartbeat };
}
