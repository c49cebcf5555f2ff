import { expect } from 'chai';
import { DockerodePort } from '../../../docker/dockerode-port.js';
import type { EventSubscription } from '../../../docker/port.js';
import type { DockerEvent } from '../../../domain/container.js';
import { testDocker } from '../../helpers/docker.js';
import { removeSpecContainers, runLabelled } from '../../helpers/docker-fixtures.js';

/** Docker itself drops the actions the agent does not use: nothing of them reaches the agent to be decoded. */
describe('docker port: event subscription filtered by action', () => {
  const docker = testDocker();
  const port = new DockerodePort(docker);
  let subscription: EventSubscription | undefined;
  afterEach(async () => {
    subscription?.close();
    subscription = undefined;
    await removeSpecContainers();
  });

  interface Watch {
    seen: DockerEvent[];
    next: (pred: (e: DockerEvent) => boolean, what: string) => Promise<DockerEvent>;
  }
  const subscribe = async (actions: string[]): Promise<Watch> => {
    const seen: DockerEvent[] = [];
    const waiters: { pred: (e: DockerEvent) => boolean; resolve: (e: DockerEvent) => void }[] = [];
    subscription = await port.subscribeEvents(BigInt(Date.now() - 1000) * 1_000_000n, actions, {
      onEvent: (e) => {
        seen.push(e);
        for (const w of waiters.filter((x) => x.pred(e))) w.resolve(e);
      },
      onEnd: (reason) => {
        expect.fail(`the event stream ended: ${reason}`);
      },
    });
    const next = (pred: (e: DockerEvent) => boolean, what: string): Promise<DockerEvent> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no ${what} within 10 s; seen: ${seen.map((e) => e.action).join(', ')}`));
        }, 10_000);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    return { seen, next };
  };

  it('delivers only the subscribed actions of a container that is created, started, killed and removed', async () => {
    const { seen, next } = await subscribe(['start', 'destroy']);
    const c = await runLabelled(docker, { labels: {} });
    const destroyed = next((e) => e.id === c.id && e.action === 'destroy', 'destroy event');
    await docker.getContainer(c.id).remove({ force: true });
    await destroyed;
    // Between create and destroy Docker also published create, kill and die: none of them arrived.
    expect(seen.filter((e) => e.id === c.id).map((e) => e.action)).to.deep.equal(['start', 'destroy']);
  });

  it('matches every health_status state with the plain health_status action', async function () {
    this.timeout(15_000);
    const { seen, next } = await subscribe(['health_status']);
    const c = await runLabelled(docker, { labels: {}, start: false, healthEveryMs: 200 });
    const health = next((e) => e.id === c.id, 'health_status event');
    await docker.getContainer(c.id).start();
    expect((await health).action).to.equal('health_status: healthy');
    // The checks run as execs; their exec_create / exec_start / exec_die events were not subscribed.
    expect(seen.filter((e) => !e.action.startsWith('health_status'))).to.deep.equal([]);
  });
});
