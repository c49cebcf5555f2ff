import { randomUUID } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type Docker from 'dockerode';
import { tunnelGet } from '../../../messages/tunnel-keeper.js';
import type { TunnelView } from '../../../domain/tunnel.js';
import { injectCrash } from '../../../supervisor/protocol.js';
import { ask, tell } from '../../../supervisor/actor-ref.js';
import { TEST_NETWORK, type InProcessAgent } from '../../helpers/agent-harness.js';
import { BUSYBOX_IMAGE, CLOUDFLARED_IMAGE, TEST_LABEL, testDocker } from '../../helpers/docker.js';
import { waitForAccepted, type Body } from '../../helpers/docker-events.js';
import {
  absentOn404,
  inspectOrNull,
  pollUntil,
  removeTestContainers,
  removeTunnelContainer,
  TUNNEL_CONTAINER,
  uniqueName,
  waitForTunnelRunning,
} from '../../helpers/docker-fixtures.js';
import type { LogRecord } from '../../helpers/log-sink.js';
import { useSpecSession } from '../../helpers/spec-session.js';
import type { RecordedRequest, TestMaster } from '../../master/index.js';

interface TunnelFile {
  token: string | null;
  id: string | null;
  name: string | null;
  desired_state: string;
}

const ERROR = 50;
const DEBUG = 20;

async function readTunnelFile(dataDir: string): Promise<TunnelFile> {
  return JSON.parse(await readFile(path.join(dataDir, 'tunnel_state.json'), 'utf8')) as TunnelFile;
}

async function removeNetwork(docker: Docker, name: string): Promise<void> {
  await absentOn404(() => docker.getNetwork(name).remove());
}

async function networkExists(docker: Docker, name: string): Promise<boolean> {
  return (await absentOn404(() => docker.getNetwork(name).inspect())) !== null;
}

describe('docker side: tunnel keeper (test master, real dockerd)', function () {
  this.timeout(45_000);
  const docker = testDocker();
  let master: TestMaster | undefined;
  let agent: InProcessAgent | undefined;
  const harness = useSpecSession(async () => {
    await removeTunnelContainer(docker);
    await removeTestContainers(docker);
  });

  interface Enrolled {
    agentId: string;
    tunnelId: string;
    tunnelName: string;
    token: string;
    info: Docker.ContainerInspectInfo;
  }

  /** A registered agent, enrolled by the master, with its tunnel container running and reported. */
  async function startEnrolled(env: Record<string, string> = {}): Promise<Enrolled> {
    master = await harness.master();
    agent = await harness.agent({ env });
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
    return ask(agent!.agent.cells.tunnelKeeper, tunnelGet, 15_000);
  }

  const acceptedHeartbeat =
    (after: number) =>
    (r: RecordedRequest): boolean =>
      r.endpoint === 'events' && (r.body as Body | undefined)?.type === 'heartbeat' && r.status === 202 && r.at > after;

  beforeEach(async () => {
    await removeTunnelContainer(docker);
    await removeTestContainers(docker);
  });

  it('enrolment: runs dockflare-agent-tunnel as specified (image, cmd, token only in env, unless-stopped, network created), reports it running, stores the token 0600', async () => {
    await removeNetwork(docker, TEST_NETWORK);
    expect(await networkExists(docker, TEST_NETWORK), 'the test network is gone before the agent starts').to.equal(
      false,
    );

    const { tunnelId, tunnelName, token, info } = await startEnrolled();

    expect(info.Name).to.equal(`/${TUNNEL_CONTAINER}`);
    expect(info.Config.Image).to.equal(CLOUDFLARED_IMAGE);
    expect(info.Config.Cmd).to.deep.equal(['tunnel', '--no-autoupdate', 'run']);
    expect(info.Config.Env).to.include(`TUNNEL_TOKEN=${token}`);
    expect(JSON.stringify(info.Config.Cmd), 'token in Cmd').not.to.include(token);
    expect(JSON.stringify(info.Args), 'token in Args').not.to.include(token);
    expect(JSON.stringify(info.Config.Entrypoint ?? null), 'token in Entrypoint').not.to.include(token);
    expect(JSON.stringify(info.Config.Labels), 'token in labels').not.to.include(token);
    expect(
      Object.keys(info.Config.Labels).filter((k) => k.startsWith('dockflare.') || k.startsWith('cloudflare.tunnel.')),
      'the tunnel container must not carry enable-prefixed labels (it would report itself)',
    ).to.deep.equal([]);
    expect(info.HostConfig.RestartPolicy?.Name).to.equal('unless-stopped');
    expect(info.HostConfig.NetworkMode).to.equal(TEST_NETWORK);
    expect(Object.keys(info.NetworkSettings.Networks)).to.deep.equal([TEST_NETWORK]);
    expect(await networkExists(docker, TEST_NETWORK), 'the agent created the missing network').to.equal(true);
    expect(agent!.sink.events('network_created')).to.have.length(1);

    const status = master!.acceptedEvents().find((e) => e.type === 'tunnel_status')!.body;
    expect(status, 'tunnel_status fields at the top level').to.include({ status: 'running', name: tunnelName });
    expect(status.version)
      .to.be.a('string')
      .and.match(/^cloudflared version \S+/);
    expect(status).not.to.have.property('container');
    expect(master!.agent(await agent!.registered())!.tunnelStatus).to.include({ status: 'running', name: tunnelName });

    const file = path.join(agent!.dataDir, 'tunnel_state.json');
    expect(await readTunnelFile(agent!.dataDir)).to.deep.equal({
      token,
      id: tunnelId,
      name: tunnelName,
      desired_state: 'running',
    });
    expect((await stat(file)).mode & 0o777, 'tunnel_state.json mode').to.equal(0o600);
    expect(agent!.sink.lines.join('\n'), 'the tunnel token appears in the agent log').not.to.include(token);
  });

  it('start_tunnel again with the same token and id changes nothing (same container, same StartedAt)', async () => {
    const { agentId, tunnelId, tunnelName, token, info } = await startEnrolled();
    master!.queueCommand(agentId, { action: 'start_tunnel', tunnel_id: tunnelId, tunnel_name: tunnelName, token });
    await agent!.sink.waitForCount((r) => r.event === 'command_received' && r.action === 'start_tunnel', 2, 10_000);
    const view = await keeperView();
    expect(view).to.include({ containerId: info.Id, containerRunning: true, desiredState: 'running' });
    const after = await inspectOrNull(docker, TUNNEL_CONTAINER);
    expect(after?.Id, 'container id').to.equal(info.Id);
    expect(after?.State.StartedAt, 'StartedAt').to.equal(info.State.StartedAt);
    expect(agent!.sink.events('tunnel_started')).to.have.length(1);
    expect(agent!.sink.events('tunnel_container_removing')).to.be.empty;
  });

  it('restart_tunnel (master redeploy) replaces the container', async () => {
    const { agentId, token, tunnelName, info } = await startEnrolled();
    master!.redeploy(agentId);
    const fresh = await waitForTunnelRunning(docker, 20_000, info.Id);
    expect(fresh.Id).not.to.equal(info.Id);
    expect(fresh.Config.Env).to.include(`TUNNEL_TOKEN=${token}`);
    expect(await inspectOrNull(docker, info.Id), 'the old container is removed').to.equal(null);
    await waitForAccepted(master!, 'tunnel_status', {
      count: 2,
      where: (b) => b.status === 'running' && b.name === tunnelName,
      what: 'a second tunnel_status running',
    });
  });

  it('stop_tunnel removes the container, reports stopped, and persists desired_state stopped with no token', async () => {
    const { agentId, tunnelName } = await startEnrolled();
    master!.queueCommand(agentId, { action: 'stop_tunnel' });
    const [req] = await waitForAccepted(master!, 'tunnel_status', {
      where: (b) => b.status === 'stopped',
      what: 'tunnel_status stopped',
    });
    expect(req!.body).to.include({ status: 'stopped', name: tunnelName });
    expect(await inspectOrNull(docker, TUNNEL_CONTAINER), 'tunnel container after stop_tunnel').to.equal(null);
    const view = await keeperView();
    expect(view).to.include({ desiredState: 'stopped', containerRunning: false });
    const file = await pollUntil(
      async () => {
        const f = await readTunnelFile(agent!.dataDir);
        return f.desired_state === 'stopped' && f.token === null ? f : null;
      },
      5000,
      'tunnel_state.json with desired_state stopped and no token',
    );
    expect(file).to.deep.equal({ token: null, id: null, name: null, desired_state: 'stopped' });
    expect(
      await inspectOrNull(docker, TUNNEL_CONTAINER),
      'still no tunnel container after the keeper settled',
    ).to.equal(null);
  });

  it('start_tunnel with an empty token changes nothing and logs command_rejected at error level', async () => {
    const { agentId, tunnelId, tunnelName, token, info } = await startEnrolled();
    master!.queueCommand(agentId, { action: 'start_tunnel', tunnel_id: tunnelId, tunnel_name: tunnelName, token: '' });
    const rejected = await agent!.sink.waitFor((r) => r.event === 'command_rejected', 10_000, 'command_rejected');
    expect(rejected.level).to.equal(ERROR);
    await keeperView();
    const after = await inspectOrNull(docker, TUNNEL_CONTAINER);
    expect(after?.Id).to.equal(info.Id);
    expect(after?.State.StartedAt).to.equal(info.State.StartedAt);
    expect((await readTunnelFile(agent!.dataDir)).token).to.equal(token);
    expect(agent!.sink.events('tunnel_started')).to.have.length(1);
  });

  it('a stale exited dockflare-agent-tunnel from before is removed and a fresh one runs from cached state', async () => {
    const stale = await docker.createContainer({
      name: TUNNEL_CONTAINER,
      Image: BUSYBOX_IMAGE,
      Cmd: ['true'],
      Labels: { [TEST_LABEL]: 'stale-tunnel' },
      HostConfig: { NetworkMode: 'none' },
    });
    await stale.start();
    await stale.wait();
    expect((await stale.inspect()).State.Status).to.equal('exited');
    const dataDir = await harness.tempDir('dfa-stale-');
    const cached: TunnelFile = {
      token: `stale-${randomUUID()}`,
      id: randomUUID(),
      name: 'stale-tunnel',
      desired_state: 'running',
    };
    await writeFile(path.join(dataDir, 'tunnel_state.json'), JSON.stringify(cached), { mode: 0o600 });

    master = await harness.master();
    agent = await harness.agent({ dataDir });
    const fresh = await waitForTunnelRunning(docker, 15_000, stale.id);
    expect(fresh.Config.Image).to.equal(CLOUDFLARED_IMAGE);
    expect(fresh.Config.Env).to.include(`TUNNEL_TOKEN=${cached.token!}`);
    expect(await inspectOrNull(docker, stale.id), 'the stale container is removed').to.equal(null);
    const removing = agent.sink.events('tunnel_container_removing');
    expect(removing[0], 'removal of the stale container was logged').to.include({
      containerId: stale.id,
      status: 'exited',
    });
  });

  it('docker kill of the tunnel container: running again within 5 s; docker rm -f: recreated within 5 s', async () => {
    const { info } = await startEnrolled();

    const killedAt = Date.now();
    await docker.getContainer(info.Id).kill();
    const back = await pollUntil(
      async () => {
        const i = await inspectOrNull(docker, TUNNEL_CONTAINER);
        return i?.State.Running === true && (i.Id !== info.Id || i.State.StartedAt !== info.State.StartedAt) ? i : null;
      },
      15_000,
      'the tunnel container running again after docker kill',
      50,
    );
    const afterKillMs = Date.now() - killedAt;
    expect(afterKillMs, `running again after docker kill took ${afterKillMs} ms`).to.be.below(5000);

    const removedAt = Date.now();
    await docker.getContainer(back.Id).remove({ force: true });
    const recreated = await waitForTunnelRunning(docker, 15_000, back.Id);
    const afterRmMs = Date.now() - removedAt;
    expect(afterRmMs, `recreated after docker rm -f took ${afterRmMs} ms`).to.be.below(5000);
    expect(recreated.Config.Cmd).to.deep.equal(['tunnel', '--no-autoupdate', 'run']);
    expect(agent!.sink.events('actor_crashed'), 'no actor crashed').to.be.empty;
  });

  it('a token cloudflared refuses: the container keeps exiting, is never reported running, and tunnel_start_failed says why', async () => {
    master = await harness.master();
    agent = await harness.agent();
    const agentId = await agent.registered();
    const token = `invalid-${randomUUID()}`;
    master.queueCommand(agentId, {
      action: 'start_tunnel',
      tunnel_id: randomUUID(),
      tunnel_name: uniqueName('dfa-refused'),
      token,
    });
    const failure = await agent.sink.waitFor((r) => r.event === 'tunnel_start_failed', 15_000, 'tunnel_start_failed');
    expect(failure).to.include({ level: ERROR, failures: 1 });
    expect(failure.restarts, 'Docker restarted it').to.be.a('number').that.is.at.least(1);
    expect(failure.logTail, "cloudflared's own last words").to.include('ERR Provided Tunnel token is not valid.');
    // Left to Docker's restart policy for three checks, then replaced (Docker counts a restarting container as
    // running: it must not be adopted as one); through all of it nothing is reported as running.
    const replaced = await agent.sink.waitFor(
      (r) => r.event === 'tunnel_container_removing' && r.status === 'restarting',
      40_000,
      'the crash-looping container replaced',
    );
    await agent.sink.waitFor(
      (r) => r.event === 'tunnel_start_failed' && Date.parse(String(r.time)) > Date.parse(String(replaced.time)),
      15_000,
      'its replacement failing too',
    );
    expect(
      agent.sink
        .events('tunnel_start_failed')
        .slice(1)
        .every((r) => r.level === DEBUG),
      'repeats at debug',
    ).to.equal(true);
    expect(
      master.requests.filter((r) => (r.body as Body | undefined)?.type === 'tunnel_status'),
      'tunnel_status sent',
    ).to.be.empty;
    expect(agent.sink.events('tunnel_started').concat(agent.sink.events('tunnel_adopted'))).to.be.empty;
    expect((await keeperView()).containerRunning).to.equal(false);
    expect(agent.sink.lines.join('\n'), 'the token in the log').not.to.include(token);
  });

  it('a tunnel container removed during its start confirm is replaced at once and then reported once', async () => {
    const { master, agent, container: first } = await enrolledInConfirm();
    const removedAt = Date.now();
    await docker.getContainer(first.Id).remove({ force: true });
    const second = await waitForTunnelRunning(docker, 5000, first.Id);
    expect(Date.now() - removedAt, 'replaced without a backoff').to.be.below(2000);
    await waitForAccepted(master, 'tunnel_status', {
      where: (b) => b.status === 'running',
      timeoutMs: 10_000,
      what: 'tunnel_status running',
    });
    const started = agent.sink.events('tunnel_started');
    expect(
      started.map((r) => r.containerId),
      'only the container that lasted is reported',
    ).to.deep.equal([second.Id]);
    expect(master.requests.filter((r) => (r.body as Body | undefined)?.type === 'tunnel_status')).to.have.length(1);
    expect(agent.sink.events('tunnel_start_failed'), 'removal from outside is not a start failure').to.be.empty;
  });

  it('a keeper killed during the start confirm of the container it created confirms it as started, counted once', async () => {
    const { master, agent, container: created } = await enrolledInConfirm();
    expect(agent.sink.events('tunnel_started'), 'killed before the confirm (precondition)').to.be.empty;
    tell(agent.agent.cells.workers, injectCrash('tunnel-keeper', 'test: killed during the start confirm'));
    await agent.sink.waitFor(
      (r) => r.event === 'actor_started' && r.child === 'tunnel-keeper' && r.gen === 2,
      5000,
      'the keeper restarted',
    );
    const started = await agent.sink.waitFor(
      (r) => r.event === 'tunnel_started',
      10_000,
      'tunnel_started after the keeper restart',
    );
    expect(started).to.include({ containerId: created.Id, cause: 'start_tunnel' });
    expect(agent.sink.events('tunnel_adopted'), 'its own container is not adopted').to.be.empty;
    expect(agent.agent.board.read().tunnel.containersStarted, 'containers started').to.equal(1);
    await waitForAccepted(master, 'tunnel_status', {
      where: (b) => b.status === 'running',
      timeoutMs: 10_000,
      what: 'tunnel_status running',
    });
    expect((await docker.getContainer(TUNNEL_CONTAINER).inspect()).Id, 'the same container').to.equal(created.Id);
  });

  it('cloudflared image missing and not pullable: tunnel_reconcile_failed with an error, retried with backoff, no crash, heartbeats go on', async () => {
    master = await harness.master();
    agent = await harness.agent({ env: { CLOUDFLARED_IMAGE: 'local/cloudflared:missing' } });
    const agentId = await agent.registered();
    master.enroll(agentId, uniqueName('dfa-tunnel'));
    const failures: LogRecord[] = await agent.sink.waitForCount(
      (r) => r.event === 'tunnel_reconcile_failed',
      2,
      30_000,
    );
    expect(failures[0]).to.include({ level: ERROR, failures: 1 });
    // The same failure again: at debug while it lasts (tunnel_recovered says when it ends).
    expect(failures[1]).to.include({ level: DEBUG, failures: 2 });
    for (const f of failures)
      expect(f.err, 'the failure carries the error').to.be.an('object').with.property('message').that.is.a('string');
    expect(failures[0]!.retryInMs).to.be.a('number').that.is.above(0);
    const secondAt = Date.parse(String(failures[1]!.time));
    await master.waitForCount(acceptedHeartbeat(Number.isNaN(secondAt) ? Date.now() : secondAt), 2, 10_000);
    expect(agent.sink.events('actor_crashed'), 'actor crashes').to.be.empty;
    expect(agent.fatal).to.be.empty;
    expect(await inspectOrNull(docker, TUNNEL_CONTAINER), 'no tunnel container without its image').to.equal(null);
  });

  it('master unreachable at start: the tunnel is brought back from tunnel_state.json without any master', async () => {
    const gone = await harness.master();
    const key = gone.generateKey();
    await gone.stop();
    const dataDir = await harness.tempDir('dfa-nomaster-');
    const cached: TunnelFile = {
      token: `cached-${randomUUID()}`,
      id: randomUUID(),
      name: 'cached-tunnel',
      desired_state: 'running',
    };
    await writeFile(path.join(dataDir, 'tunnel_state.json'), JSON.stringify(cached), { mode: 0o600 });

    agent = await harness.agent({ key, dataDir });
    const info = await waitForTunnelRunning(docker, 15_000);
    expect(info.Config.Env).to.include(`TUNNEL_TOKEN=${cached.token!}`);
    expect(info.Config.Image).to.equal(CLOUDFLARED_IMAGE);
    expect(agent.sink.events('tunnel_restore')).to.have.length(1);
    await agent.sink.waitFor((r) => r.event === 'tunnel_started', 5000, 'tunnel_started');
    expect(agent.sink.events('registered'), 'no master answered').to.be.empty;
    expect(gone.requests, 'the stopped master received nothing').to.be.empty;
  });
});
