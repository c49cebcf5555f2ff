import { expect } from 'chai';
import type { ContainerState } from '../../../docker/port.js';
import { SelfLocator, selfCandidates } from '../../../docker/self-container.js';

const ID = 'a'.repeat(12) + 'b'.repeat(52);

function container(id: string, name: string, labels: Record<string, string> = {}): ContainerState {
  return {
    id,
    name,
    status: 'running',
    running: true,
    restarting: false,
    image: 'dockflare-agent:test',
    env: [],
    startedAt: '',
    restartCount: 0,
    exitCode: null,
    labels,
  };
}

describe('docker/self-container', () => {
  it('takes candidates from mountinfo and a hex HOSTNAME, never from a host name', () => {
    const mountinfo = `1 2 0:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n`;
    expect(selfCandidates('aaaaaaaaaaaa', mountinfo)).to.deep.equal([ID, 'aaaaaaaaaaaa']);
    // A process on the host sees other containers' shm mounts: those are not its own.
    const host = `9 2 0:5 / /var/lib/docker/containers/${ID}/mounts/shm rw - tmpfs shm rw\n`;
    expect(selfCandidates(undefined, host)).to.deep.equal([]);
    expect(selfCandidates('nas-box', null)).to.deep.equal([]);
    expect(selfCandidates('abc', null)).to.deep.equal([]);
  });

  it('confirms a 12-character prefix by inspect and remembers the container', async () => {
    let calls = 0;
    const locator = new SelfLocator({
      docker: {
        inspectContainer: (id) => {
          calls++;
          return Promise.resolve(ID.startsWith(id) ? container(ID, 'dockflare-agent') : null);
        },
      },
      hostname: ID.slice(0, 12),
      readMountinfo: () => Promise.resolve(null),
    });
    expect(await locator.locate()).to.deep.equal({ id: ID, name: 'dockflare-agent', image: 'dockflare-agent:test' });
    await locator.locate();
    expect(calls).to.equal(1);
  });

  it('refuses a container that is not the agent by name or compose service (a shared-network sidecar)', async () => {
    const sidecar = new SelfLocator({
      docker: { inspectContainer: () => Promise.resolve(container(ID, 'gluetun')) },
      hostname: ID.slice(0, 12),
      readMountinfo: () => Promise.resolve(null),
    });
    expect(await sidecar.locate()).to.equal(null);
    const composed = new SelfLocator({
      docker: {
        inspectContainer: () =>
          Promise.resolve(container(ID, 'stack-agent-1', { 'com.docker.compose.service': 'dockflare-agent' })),
      },
      hostname: ID.slice(0, 12),
      readMountinfo: () => Promise.resolve(null),
    });
    expect(await composed.locate()).to.include({ id: ID, name: 'stack-agent-1' });
  });

  it('refuses an unrelated container, the tunnel container and a Docker failure', async () => {
    const other = new SelfLocator({
      docker: { inspectContainer: () => Promise.resolve(container('f'.repeat(64), 'someone-else')) },
      hostname: ID.slice(0, 12),
      readMountinfo: () => Promise.resolve(null),
    });
    expect(await other.locate()).to.equal(null);
    const tunnel = new SelfLocator({
      docker: { inspectContainer: () => Promise.resolve(container(ID, 'dockflare-agent-tunnel')) },
      hostname: ID.slice(0, 12),
      readMountinfo: () => Promise.resolve(null),
    });
    expect(await tunnel.locate()).to.equal(null);
    const broken = new SelfLocator({
      docker: { inspectContainer: () => Promise.reject(new Error('daemon gone')) },
      hostname: ID.slice(0, 12),
      readMountinfo: () => Promise.resolve(null),
    });
    expect(await broken.locate()).to.equal(null);
  });

  it("a task of the agent's Swarm service (a stack's <stack>_dockflare-agent) carries the service to scale; another service's task is refused", async () => {
    const task = (service: string) =>
      new SelfLocator({
        docker: {
          inspectContainer: () =>
            Promise.resolve(
              container(ID, `${service}.1.x`, {
                'com.docker.swarm.service.id': 'svc123',
                'com.docker.swarm.service.name': service,
              }),
            ),
        },
        hostname: ID.slice(0, 12),
        readMountinfo: () => Promise.resolve(null),
        canScaleOwnService: scale,
      });
    let scale = true;
    expect(await task('dockflare_dockflare-agent').locate()).to.include({ id: ID, swarmService: 'svc123' });
    expect(await task('dockflare-agent').locate()).to.include({ swarmService: 'svc123' });
    expect(await task('web').locate()).to.equal(null);
    expect(await task('not-dockflare-agent').locate()).to.equal(null);
    // Not in Swarm mode: no way to scale the service, so it is not counted as found (no self_stop.v1).
    scale = false;
    expect(await task('dockflare_dockflare-agent').locate()).to.equal(null);
  });

  it('makes no Docker call without a candidate', async () => {
    const locator = new SelfLocator({
      docker: {
        inspectContainer: () => {
          throw new Error('unexpected inspect');
        },
      },
      hostname: 'build-host',
      readMountinfo: () => Promise.resolve('1 2 0:1 / / rw - overlay overlay rw\n'),
    });
    expect(await locator.hasCandidates()).to.equal(false);
    expect(await locator.locate()).to.equal(null);
  });
});
