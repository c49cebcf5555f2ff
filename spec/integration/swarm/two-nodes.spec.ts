import { expect } from 'chai';
import type { InProcessAgent } from '../../helpers/agent-harness.js';
import { testDocker } from '../../helpers/docker.js';
import { waitForAccepted } from '../../helpers/docker-events.js';
import { pollUntil, uniqueName } from '../../helpers/docker-fixtures.js';
import { useSpecSession } from '../../helpers/spec-session.js';
import {
  createService,
  ensureOverlay,
  isSwarmManager,
  removeSwarmServices,
  runningTasks,
  scaleService,
  SWARM_NETWORK,
  tunnelService,
  waitForRunningTasks,
} from '../../helpers/swarm.js';
import { startTwoNodeSwarm, workerSupport, type WorkerNode } from '../../helpers/swarm-worker.js';

const ENABLED = { 'dockflare.enable': 'true', 'dockflare.hostname': 'remote.example.com' };

describe('swarm: two nodes on this machine (a second dockerd joined as a worker)', function () {
  this.timeout(120_000);
  const manager = testDocker();
  const unsupported = workerSupport();
  let worker: WorkerNode | undefined;
  let agent: InProcessAgent;
  const harness = useSpecSession(async () => {
    if (await isSwarmManager(manager)) await removeSwarmServices(manager);
  });

  before(async function () {
    if (unsupported !== null) {
      this.test!.parent!.title += ` (pending: ${unsupported})`;
      this.skip();
    }
    this.timeout(90_000);
    worker = await startTwoNodeSwarm(manager);
    await ensureOverlay(manager);
  });
  after(async function () {
    this.timeout(60_000);
    await worker?.stop();
  });

  async function startAgent() {
    const master = await harness.master();
    agent = await harness.agent({ env: { DOCKER_MODE: 'swarm', CLOUDFLARED_NETWORK_NAME: SWARM_NETWORK } });
    return { master, agentId: await agent.registered() };
  }

  it('a labelled service whose task runs on the worker: told within a second of its task running there, though none of its container events reach the manager; told stopped at 0', async () => {
    const { master } = await startAgent();
    const id = await createService(manager, uniqueName('dfa-remote'), ENABLED, {
      constraints: ['node.role == worker'],
    });
    const [started] = await waitForAccepted(master, 'container_start', { id, timeoutMs: 20_000 });
    const [task] = await runningTasks(manager, id);
    expect(task, 'its task runs').to.not.equal(undefined);
    expect(task!.NodeID, 'on the worker').to.equal(worker!.nodeId);
    const lagMs = started!.at - Date.parse(task!.Status.Timestamp);
    expect(lagMs, `ms from the task running on the worker to the master (${lagMs})`).to.be.below(1000);
    await scaleService(manager, id, 0);
    await waitForAccepted(master, 'container_stop', { id, timeoutMs: 15_000 });
  });

  it('the tunnel service: its two replicas spread over both nodes; a task killed on the worker is brought back by Swarm, the service untouched', async () => {
    const { master, agentId } = await startAgent();
    master.enroll(agentId, uniqueName('dfa-tunnel'));
    const service = await pollUntil(() => tunnelService(manager), 15_000, 'the tunnel service');
    const tasks = await waitForRunningTasks(manager, service.ID, 2, 30_000);
    const nodes = new Set(tasks.map((t) => t.NodeID));
    expect(nodes.size, 'one task per node').to.equal(2);
    await waitForAccepted(master, 'tunnel_status', { where: (b) => b.status === 'running', timeoutMs: 15_000 });

    const remote = tasks.find((t) => t.NodeID === worker!.nodeId)!;
    await worker!.docker.getContainer(remote.Status.ContainerStatus!.ContainerID!).kill();
    await pollUntil(
      async () => {
        const running = await runningTasks(manager, service.ID);
        return running.length === 2 && !running.some((t) => t.ID === remote.ID);
      },
      30_000,
      'Swarm replacing the task killed on the worker',
    );
    expect((await tunnelService(manager))!.Version.Index, 'not updated by the agent').to.equal(service.Version.Index);
    expect(agent.sink.events('tunnel_service_updated')).to.deep.equal([]);
  });
});
