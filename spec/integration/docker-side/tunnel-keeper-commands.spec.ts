import { randomUUID } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { TEST_NETWORK, type InProcessAgent } from '../../helpers/agent-harness.js';
import { BUSYBOX_IMAGE, CLOUDFLARED_IMAGE, TEST_LABEL } from '../../helpers/docker.js';
import { waitForAccepted } from '../../helpers/docker-events.js';
import { inspectOrNull, pollUntil, TUNNEL_CONTAINER, waitForTunnelRunning } from '../../helpers/docker-fixtures.js';
import type { TestMaster } from '../../master/index.js';
import {
  ERROR,
  networkExists,
  readTunnelFile,
  removeNetwork,
  useTunnelSession,
  type TunnelFile,
} from '../../helpers/tunnel-session.js';

describe('docker side: tunnel keeper, commands (test master, real dockerd)', function () {
  this.timeout(45_000);
  let master: TestMaster | undefined;
  let agent: InProcessAgent | undefined;
  const { docker, harness, startEnrolled, keeperView } = useTunnelSession({
    get: () => ({ agent }),
    set: (m, a) => {
      master = m;
      agent = a;
    },
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
});
