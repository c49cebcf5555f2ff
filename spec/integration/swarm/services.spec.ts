import { expect } from 'chai';
import type { InProcessAgent } from '../../helpers/agent-harness.js';
import { bodyOf, containerEvents, historyOf, waitForAccepted, type Body } from '../../helpers/docker-events.js';
import { runLabelled, uniqueName } from '../../helpers/docker-fixtures.js';
import {
  createService,
  ensureOverlay,
  runningTasks,
  scaleService,
  SWARM_NETWORK,
  updateService,
  useSwarmSession,
  waitForRunningTasks,
} from '../../helpers/swarm.js';
import type { TestMaster } from '../../master/index.js';

const ENABLED = { 'dockflare.enable': 'true', 'dockflare.hostname': 'web.example.com' };

describe('swarm: labelled services as the master sees them (real single-node swarm)', function () {
  this.timeout(90_000);
  const { docker, harness } = useSwarmSession();
  let master: TestMaster;
  let agent: InProcessAgent;

  async function startAgent(env: Record<string, string> = {}): Promise<string> {
    await ensureOverlay(docker);
    master = await harness.master();
    agent = await harness.agent({ env: { DOCKER_MODE: 'auto', CLOUDFLARED_NETWORK_NAME: SWARM_NETWORK, ...env } });
    return agent.registered();
  }

  it('auto picks Swarm mode on a manager; a service is one entry: started with its first task, stopped at 0, again at 1, stopped when removed', async () => {
    await startAgent();
    expect(agent.sink.events('docker_mode')[0]).to.include({ mode: 'swarm' });
    const name = uniqueName('dfa-web');
    const plain = uniqueName('dfa-plain');
    const id = await createService(docker, name, ENABLED, { replicas: 2 });
    const unlabelled = await createService(docker, plain, { 'dockflare.enable': 'false' });

    const [started] = await waitForAccepted(master, 'container_start', { id, timeoutMs: 15_000 });
    const sent = bodyOf(started!).container as Body;
    expect(sent).to.include({ id, name, status: 'running', mode: 'swarm', service_id: id });
    expect(sent.labels).to.deep.equal(ENABLED);
    // Within a second of its first task running (the task's own timestamp, Swarm's clock on this host).
    const tasks = await runningTasks(docker, id);
    const firstRunning = Math.min(...tasks.map((t) => Date.parse(t.Status.Timestamp)));
    expect(started!.at - firstRunning, 'ms from the first running task to the master').to.be.below(1000);

    await waitForRunningTasks(docker, id, 2);
    await scaleService(docker, id, 0);
    await waitForAccepted(master, 'container_stop', { id, timeoutMs: 15_000 });
    await scaleService(docker, id, 1);
    await waitForAccepted(master, 'container_start', { id, count: 2, timeoutMs: 15_000 });
    await docker.getService(id).remove();
    await waitForAccepted(master, 'container_stop', { id, count: 2, timeoutMs: 15_000 });

    expect(historyOf(master, id)).to.deep.equal(['start', 'stop', 'start', 'stop']);
    await waitForRunningTasks(docker, unlabelled, 1);
    expect(historyOf(master, unlabelled), 'a service without the enable label is never told').to.deep.equal([]);
    // No task container is ever an entry of its own.
    const ids = new Set(containerEvents(master).map((e) => e.container.id));
    expect([...ids]).to.deep.equal([id]);
  });

  it('labels changed: a new hostname is told as a start with the new labels, enabled → disabled is a stop', async () => {
    await startAgent();
    const id = await createService(docker, uniqueName('dfa-relabel'), ENABLED);
    await waitForAccepted(master, 'container_start', { id, timeoutMs: 15_000 });
    const moved = { ...ENABLED, 'dockflare.hostname': 'moved.example.com' };
    await updateService(docker, id, (spec) => ({ ...spec, Labels: { ...(spec.Labels as object), ...moved } }));
    const again = (await waitForAccepted(master, 'container_start', { id, count: 2, timeoutMs: 15_000 }))[1];
    expect((bodyOf(again!).container as Body).labels).to.deep.include({ 'dockflare.hostname': 'moved.example.com' });
    await updateService(docker, id, (spec) => ({
      ...spec,
      Labels: { ...(spec.Labels as object), 'dockflare.enable': 'false' },
    }));
    await waitForAccepted(master, 'container_stop', { id, timeoutMs: 15_000 });
    expect(historyOf(master, id)).to.deep.equal(['start', 'start', 'stop']);
  });

  it('a mixed host: a plain labelled container is reported as a container; a task with container labels is not', async () => {
    await startAgent();
    const plain = await runLabelled(docker, { labels: ENABLED });
    const id = await createService(docker, uniqueName('dfa-mixed'), ENABLED, { containerLabels: ENABLED });
    await waitForAccepted(master, 'container_start', { id: plain.id, timeoutMs: 15_000 });
    await waitForAccepted(master, 'container_start', { id, timeoutMs: 15_000 });
    const [report] = await waitForAccepted(master, 'status_report', {
      after: Date.now(),
      where: (b) => b.inventory_complete === true,
      timeoutMs: 10_000,
    });
    const listed = (bodyOf(report!).containers as Body[]).map((c) => c.id);
    expect(listed).to.have.members([plain.id, id]);
    const task = (await runningTasks(docker, id))[0]!;
    expect(listed, 'the task container is not an entry').not.to.include(task.Status.ContainerStatus?.ContainerID);
  });

  it('a labelled service that shares no network with cloudflared gets one warning naming the service and the network', async () => {
    await startAgent();
    const name = uniqueName('dfa-isolated');
    const id = await createService(docker, name, ENABLED, { network: null });
    await waitForAccepted(master, 'container_start', { id, timeoutMs: 15_000 });
    await scaleService(docker, id, 2);
    await waitForRunningTasks(docker, id, 2);
    const warning = await agent.sink.waitFor((r) => r.event === 'service_unreachable', 5000, 'the warning');
    expect(warning).to.include({ service: name, network: SWARM_NETWORK });
    expect(agent.sink.events('service_unreachable'), 'once, not once per look').to.have.length(1);
  });
});
