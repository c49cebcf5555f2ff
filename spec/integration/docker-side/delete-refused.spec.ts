import { expect } from 'chai';
import type { InProcessAgent } from '../../helpers/agent-harness.js';
import { startDeleteRefusingProxy, type RefusingProxy } from '../../helpers/delete-refusing-proxy.js';
import { inspectOrNull, TUNNEL_CONTAINER, waitForTunnelRunning } from '../../helpers/docker-fixtures.js';
import { useTunnelSession } from '../../helpers/tunnel-session.js';
import { waitForAccepted } from '../../helpers/docker-events.js';
import type { TestMaster } from '../../master/index.js';
import { MANAGED_LABEL } from '../../../domain/tunnel.js';

describe('docker side: a socket proxy that refuses DELETE (DELETE=0 honoured)', function () {
  this.timeout(60_000);
  let master: TestMaster | undefined;
  let agent: InProcessAgent | undefined;
  let proxy: RefusingProxy | undefined;
  const { docker, startEnrolled } = useTunnelSession({
    get: () => ({ agent }),
    set: (m, a) => {
      master = m;
      agent = a;
    },
  });
  const renamedAside = async (): Promise<string[]> =>
    (await docker.listContainers({ all: true, filters: { label: [MANAGED_LABEL] } }))
      .map((c) => c.Names[0]!.replace(/^\//, ''))
      .filter((n) => n.startsWith(`${TUNNEL_CONTAINER}-replaced-`));

  beforeEach(async () => {
    proxy = await startDeleteRefusingProxy();
  });
  afterEach(async () => {
    await proxy?.close();
    for (const c of await docker.listContainers({ all: true, filters: { label: [MANAGED_LABEL] } }))
      await docker.getContainer(c.Id).remove({ force: true });
  });

  it('every replacement works: the old container is stopped and renamed aside, and the log says once how to prune', async () => {
    const { agentId, info: first } = await startEnrolled({ DOCKER_HOST: proxy!.dockerHost });
    master!.redeploy(agentId);
    const second = await waitForTunnelRunning(docker, 20_000, first.Id);
    await waitForAccepted(master!, 'tunnel_status', {
      where: (b) => b.status === 'running',
      count: 2,
      timeoutMs: 15_000,
      what: 'the second tunnel_status running',
    });
    master!.redeploy(agentId);
    await waitForTunnelRunning(docker, 20_000, second.Id);
    expect(proxy!.refused.length, 'the proxy refused the removals').to.be.at.least(2);
    const aside = await renamedAside();
    expect(aside).to.have.length(2);
    for (const name of aside) expect((await inspectOrNull(docker, name))!.State.Running, name).to.equal(false);
    expect(agent!.sink.events('tunnel_container_renamed_aside')).to.have.length(2);
    expect(agent!.sink.events('tunnel_containers_left'), 'the hint once').to.have.length(1);
    expect(
      agent!.sink.records.filter((r) => r.level >= 50),
      'no error',
    ).to.deep.equal([]);
  });
});
