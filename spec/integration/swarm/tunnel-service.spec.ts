import { expect } from 'chai';
import type { InProcessAgent } from '../../helpers/agent-harness.js';
import { CLOUDFLARED_IMAGE } from '../../helpers/docker.js';
import { waitForAccepted } from '../../helpers/docker-events.js';
import { pollUntil, uniqueName } from '../../helpers/docker-fixtures.js';
import {
  createService,
  runningTasks,
  scaleService,
  SWARM_NETWORK,
  tunnelService,
  updateService,
  useSwarmSession,
  waitForRunningTasks,
  type ServiceInspect,
} from '../../helpers/swarm.js';
import type { TestMaster } from '../../master/index.js';

describe('swarm: the tunnel as a Swarm service (real single-node swarm)', function () {
  this.timeout(90_000);
  const { docker, harness } = useSwarmSession();
  let master: TestMaster;
  let agent: InProcessAgent;

  /** An agent in Swarm mode, enrolled, with its tunnel service's two tasks running and reported. */
  async function enrolled(env: Record<string, string> = {}): Promise<{ token: string; service: ServiceInspect }> {
    master = await harness.master();
    agent = await harness.agent({ env: { DOCKER_MODE: 'swarm', CLOUDFLARED_NETWORK_NAME: SWARM_NETWORK, ...env } });
    const { token } = master.enroll(await agent.registered(), uniqueName('dfa-tunnel'));
    const service = await pollUntil(() => tunnelService(docker), 15_000, 'the tunnel service');
    await waitForRunningTasks(docker, service.ID, 2);
    await waitForAccepted(master, 'tunnel_status', { where: (b) => b.status === 'running', timeoutMs: 15_000 });
    return { token, service };
  }

  /** The service once its spec says `pred`, read again from Docker. */
  const serviceWhen = (pred: (s: ServiceInspect) => boolean, what: string) =>
    pollUntil(
      async () => {
        const s = await tunnelService(docker);
        return s !== null && pred(s) ? s : null;
      },
      15_000,
      what,
    );

  it('enrolment: a replicated service (2) on the attachable overlay, restart any, the token in its environment only', async () => {
    const { token, service } = await enrolled();
    const spec = service.Spec;
    expect(spec.Mode?.Replicated?.Replicas).to.equal(2);
    expect(spec.TaskTemplate.ContainerSpec.Image).to.equal(CLOUDFLARED_IMAGE);
    expect(spec.TaskTemplate.ContainerSpec.Env).to.deep.equal([`TUNNEL_TOKEN=${token}`]);
    expect(spec.TaskTemplate.ContainerSpec.Args).to.deep.equal(['tunnel', '--no-autoupdate', 'run']);
    expect(JSON.stringify(spec.Labels), 'no token in labels').not.to.include(token);
    const net = (await docker.getNetwork(SWARM_NETWORK).inspect()) as {
      Id: string;
      Driver: string;
      Attachable: boolean;
    };
    expect(net).to.include({ Driver: 'overlay', Attachable: true });
    expect(spec.TaskTemplate.Networks?.map((n) => n.Target)).to.deep.equal([net.Id]);
    expect(agent.sink.records.map((r) => JSON.stringify(r)).join('\n'), 'no token in the log').not.to.include(token);
  });

  it('a task killed: Swarm brings it back and the agent leaves the service alone', async () => {
    const { service } = await enrolled();
    const [task] = await runningTasks(docker, service.ID);
    await docker.getContainer(task!.Status.ContainerStatus!.ContainerID!).kill();
    await pollUntil(
      async () => {
        const running = await runningTasks(docker, service.ID);
        return running.length === 2 && !running.some((t) => t.ID === task!.ID) ? running : null;
      },
      20_000,
      'Swarm replacing the killed task',
    );
    const after = await tunnelService(docker);
    expect(after!.Version.Index, 'the agent did not update the service').to.equal(service.Version.Index);
    expect(agent.sink.events('tunnel_service_updated')).to.deep.equal([]);
    expect(agent.sink.events('tunnel_service_created')).to.have.length(1);
  });

  it('docker service rm: recreated; scaled to 0 by hand: back to 2; image changed by hand: repaired', async () => {
    const { service } = await enrolled();
    await docker.getService(service.ID).remove();
    const recreated = await serviceWhen((s) => s.ID !== service.ID, 'the tunnel service recreated');
    await waitForRunningTasks(docker, recreated.ID, 2);

    await scaleService(docker, recreated.ID, 0);
    await serviceWhen(
      (s) => s.Spec.Mode?.Replicated?.Replicas === 2 && s.Version.Index > recreated.Version.Index + 1,
      'scale repaired',
    );
    await waitForRunningTasks(docker, recreated.ID, 2);

    await updateService(docker, recreated.ID, (spec) => {
      const tpl = spec.TaskTemplate as { ContainerSpec: Record<string, unknown> };
      return { ...spec, TaskTemplate: { ...tpl, ContainerSpec: { ...tpl.ContainerSpec, Image: 'local/busybox:1' } } };
    });
    await serviceWhen((s) => s.Spec.TaskTemplate.ContainerSpec.Image === CLOUDFLARED_IMAGE, 'image repaired');
    const repaired = agent.sink.events('tunnel_service_updated').map((r) => r.drift as string[]);
    expect(repaired).to.deep.include(['replicas']);
    expect(repaired).to.deep.include(['image']);
  });

  it('stop_tunnel scales the service to 0 and keeps it; a shutdown with TUNNEL_REMOVE_ON_SHUTDOWN removes it', async () => {
    const { service } = await enrolled();
    const agentId = await agent.registered();
    master.queueCommand(agentId, { action: 'stop_tunnel' });
    await waitForAccepted(master, 'tunnel_status', { where: (b) => b.status === 'stopped', timeoutMs: 15_000 });
    const stopped = await serviceWhen((s) => s.Spec.Mode?.Replicated?.Replicas === 0, 'scaled to 0');
    expect(stopped.ID).to.equal(service.ID);
    await agent.stop();
    expect(await tunnelService(docker), 'removed at shutdown').to.equal(null);
  });

  it('TUNNEL_REMOVE_ON_SHUTDOWN=false: the service runs on after the agent stops', async () => {
    const { service } = await enrolled({ TUNNEL_REMOVE_ON_SHUTDOWN: 'false' });
    await agent.stop();
    expect((await tunnelService(docker))?.ID).to.equal(service.ID);
    expect(await runningTasks(docker, service.ID)).to.have.length(2);
  });

  it('restart_tunnel replaces the tasks and the master hears running again; a new tunnel updates the token in place', async () => {
    const { service } = await enrolled();
    const agentId = await agent.registered();
    const before = (await runningTasks(docker, service.ID)).map((t) => t.ID);
    master.redeploy(agentId);
    await pollUntil(
      async () => {
        const now = await runningTasks(docker, service.ID);
        return now.length === 2 && now.every((t) => !before.includes(t.ID));
      },
      30_000,
      'both tasks replaced',
    );
    await waitForAccepted(master, 'tunnel_status', {
      count: 2,
      where: (b) => b.status === 'running',
      timeoutMs: 15_000,
    });

    const { token } = master.enroll(agentId, uniqueName('dfa-other-tunnel'));
    const updated = await serviceWhen(
      (s) => s.Spec.TaskTemplate.ContainerSpec.Env?.includes(`TUNNEL_TOKEN=${token}`) === true,
      'the new token in the spec',
    );
    expect(updated.ID, 'the same service, updated in place').to.equal(service.ID);
    await waitForAccepted(master, 'tunnel_status', {
      count: 3,
      where: (b) => b.status === 'running',
      timeoutMs: 20_000,
    });
    const running = await runningTasks(docker, service.ID);
    expect(running.length, 'the master heard running once tasks of the new token ran').to.be.at.least(1);
  });

  it('a decommission scales the tunnel service to 0 and keeps it', async () => {
    const { service } = await enrolled();
    const agentId = await agent.registered();
    master.decommissions.start(master.agent(agentId)!);
    await master.waitFor(
      (r) => r.endpoint === 'ack' && (r.body as { phase?: string } | undefined)?.phase === 'shutdown_scheduled',
      20_000,
      'the final acknowledgement',
    );
    const kept = await serviceWhen((s) => s.Spec.Mode?.Replicated?.Replicas === 0, 'scaled to 0');
    expect(kept.ID).to.equal(service.ID);
    const prepared = master.requests.find(
      (r) => r.endpoint === 'ack' && (r.body as { phase?: string }).phase === 'prepared',
    );
    expect((prepared!.body as { tunnel_container?: string }).tunnel_container).to.equal('stopped');
    await agent.stop();
    expect((await tunnelService(docker))?.Spec.Mode?.Replicated?.Replicas, 'still there after the shutdown').to.equal(
      0,
    );
  });

  it('run as a task of its own Swarm service, a finished decommission scales that service to 0 (Swarm would restart a stopped task)', async () => {
    const own = await createService(docker, `${uniqueName('dfa')}_dockflare-agent`, {}, { network: null });
    const [task] = await waitForRunningTasks(docker, own, 1);
    master = await harness.master();
    agent = await harness.agent({
      env: { DOCKER_MODE: 'swarm', CLOUDFLARED_NETWORK_NAME: SWARM_NETWORK },
      selfHostname: task!.Status.ContainerStatus!.ContainerID!.slice(0, 12),
    });
    const agentId = await agent.registered();
    expect(master.agent(agentId)!.capabilities).to.include('self_stop.v1');
    master.decommissions.start(master.agent(agentId)!);
    expect(await agent.decommissionFinished, 'stopped through Swarm').to.equal(true);
    const spec = (await docker.getService(own).inspect()) as { Spec: { Mode: { Replicated: { Replicas: number } } } };
    expect(spec.Spec.Mode.Replicated.Replicas).to.equal(0);
    expect(agent.sink.events('agent_self_stop')[0]).to.include({ serviceId: own });
  });
});
