import { expect } from 'chai';
import type { InProcessAgent } from '../../helpers/agent-harness.js';
import { TEST_LABEL, testDocker } from '../../helpers/docker.js';
import {
  bodyOf,
  containerEvents,
  countFor,
  historyById,
  waitForAccepted,
  type Body,
  type SentContainer,
} from '../../helpers/docker-events.js';
import { removeTestContainers, runLabelled, type TestContainer } from '../../helpers/docker-fixtures.js';
import { useSpecSession } from '../../helpers/spec-session.js';
import type { TestMaster } from '../../master/index.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** Labels the master must receive for a container created with `labels`: only the two prefixes. */
function expectedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels).filter(([k]) => k.startsWith('dockflare.') || k.startsWith('cloudflare.tunnel.')),
  );
}

/** Every container id the master heard about in any accepted event (container events and status reports). */
function idsSeenByMaster(master: TestMaster): Set<string> {
  const ids = new Set<string>();
  for (const e of master.acceptedEvents()) {
    const c = e.body.container as Body | undefined;
    if (c && typeof c.id === 'string') ids.add(c.id);
    const list = e.body.containers ?? c?.containers;
    if (Array.isArray(list)) for (const item of list as Body[]) if (typeof item.id === 'string') ids.add(item.id);
  }
  return ids;
}

describe('docker side: event watcher (labelled containers, real dockerd)', function () {
  this.timeout(60_000);
  const docker = testDocker();
  const harness = useSpecSession(() => removeTestContainers(docker));
  let master: TestMaster | undefined;
  let agent: InProcessAgent | undefined;

  /** A labelled container started now; once its container_start is accepted, everything queued before it was sent. */
  async function barrier(what: string): Promise<TestContainer> {
    const sentinel = await runLabelled(docker, {
      labels: { 'dockflare.enable': 'true', 'dockflare.hostname': 'sentinel.example.com' },
    });
    await waitForAccepted(master!, 'container_start', {
      id: sentinel.id,
      timeoutMs: 15_000,
      what: `the sentinel container_start (${what})`,
    });
    return sentinel;
  }

  async function startAgent(): Promise<string> {
    agent = await harness.agent();
    const id = await agent.registered();
    await agent.sink.waitFor(
      (r) => r.event === 'event_stream_subscribed',
      10_000,
      'the Docker event stream subscription',
    );
    return id;
  }

  beforeEach(async () => {
    await removeTestContainers(docker);
  });

  it('reports exactly the containers whose enable label is truthy (any case), from the initial scan and from the event stream, with filtered labels, bare name and full id', async () => {
    master = await harness.master();
    const beforeLabels = {
      'dockflare.enable': 'true',
      'dockflare.hostname': 'before.example.com',
      'other.label': 'not-for-the-master',
    };
    const before = await runLabelled(docker, { name: `dfa-ds-before-${Date.now()}`, labels: beforeLabels });
    const beforeOff = await runLabelled(docker, {
      labels: { 'dockflare.enable': 'false', 'dockflare.hostname': 'off.example.com' },
    });

    await startAgent();
    const subscribed = agent!.sink.events('event_stream_subscribed')[0]!;
    expect(subscribed, 'the initial scan found the running labelled container').to.include({ resumed: false });
    expect(subscribed.managedRunning).to.be.a('number').that.is.at.least(1);
    await waitForAccepted(master, 'container_start', {
      id: before.id,
      what: 'container_start of the container running before the agent (initial scan)',
    });

    // Not managed: started first, so that once the last managed one is accepted every one of these was seen too.
    const negativeLabels: Record<string, string>[] = [
      { 'dockflare.enable': 'false' },
      { 'dockflare.enable': '0' },
      { 'dockflare.enable': 'no' },
      { 'dockflare.enable': '' },
      { 'dockflare.enable': 'truthy?' },
      { 'other.label': 'x', 'dockflare.hostname': 'nolabel.example.com' },
    ];
    const negatives: TestContainer[] = [beforeOff];
    for (const labels of negativeLabels) negatives.push(await runLabelled(docker, { labels }));

    const positiveLabels: Record<string, string>[] = [
      { 'dockflare.enable': 'true' },
      { 'dockflare.enable': 'TRUE' },
      { 'dockflare.enable': '1' },
      { 'dockflare.enable': 't' },
      { 'dockflare.enable': 'yes' },
      { 'dockflare.enable': 'Yes' },
      { 'cloudflare.tunnel.enable': 'true', 'cloudflare.tunnel.hostname': 'legacy.example.com' },
    ];
    const positives: { c: TestContainer; labels: Record<string, string> }[] = [{ c: before, labels: beforeLabels }];
    for (const base of positiveLabels) {
      const labels = {
        ...base,
        'dockflare.service': 'http://app:80',
        'other.label': 'not-for-the-master',
        'com.example.team': 'ops',
      };
      positives.push({ c: await runLabelled(docker, { labels }), labels });
    }
    for (const { c, labels } of positives) {
      await waitForAccepted(master, 'container_start', {
        id: c.id,
        what: `container_start for ${c.name} (${JSON.stringify(labels)})`,
      });
    }
    await barrier('after the managed and unmanaged containers');

    for (const { c, labels } of positives) {
      expect(
        countFor(master, 'container_start', c.id),
        `container_start count for ${c.name} ${JSON.stringify(labels)}`,
      ).to.equal(1);
      const sent = containerEvents(master).find(
        (e) => e.type === 'container_start' && e.container.id === c.id,
      )!.container;
      expect(sent.id).to.match(HEX64).and.to.equal(c.id);
      expect(sent.name, 'name without the leading slash').to.equal(c.name);
      expect(sent.labels, `labels of ${c.name} filtered to the two prefixes`).to.deep.equal(expectedLabels(labels));
      expect(sent.labels).not.to.have.any.keys('other.label', 'com.example.team', TEST_LABEL);
    }
    const seen = idsSeenByMaster(master);
    for (const n of negatives)
      expect(seen.has(n.id), `the master heard about unmanaged container ${n.name}`).to.equal(false);
    const reports = master.acceptedEvents().filter((e) => e.type === 'status_report');
    expect(reports, 'status reports were accepted during the spec').not.to.be.empty;
    const raw = JSON.stringify(master.requests.filter((r) => r.endpoint === 'events').map((r) => r.body));
    expect(raw, 'no non-prefixed label ever left the host').not.to.include('other.label');
    expect(raw).not.to.include('com.example.team');
    // One subscription and no crash: the later containers came through the event stream, not a rescan.
    expect(agent!.sink.events('event_stream_subscribed')).to.have.length(1);
    expect(agent!.sink.events('actor_crashed')).to.be.empty;
  });

  it('docker stop gives exactly one container_stop (die and stop de-duplicated); docker rm -f of a running container gives one', async () => {
    master = await harness.master();
    await startAgent();
    const labels = { 'dockflare.enable': 'yes', 'dockflare.hostname': 'stop.example.com' };
    const stopped = await runLabelled(docker, { labels });
    await waitForAccepted(master, 'container_start', { id: stopped.id });
    await docker.getContainer(stopped.id).stop({ t: 5 });
    const [stopReq] = await waitForAccepted(master, 'container_stop', {
      id: stopped.id,
      what: 'container_stop after docker stop',
    });

    const removed = await runLabelled(docker, { labels: { 'dockflare.enable': 'true' } });
    await waitForAccepted(master, 'container_start', { id: removed.id });
    await docker.getContainer(removed.id).remove({ force: true });
    await waitForAccepted(master, 'container_stop', { id: removed.id, what: 'container_stop after docker rm -f' });

    await barrier('after the stop and the rm -f');
    expect(
      countFor(master, 'container_stop', stopped.id),
      'container_stop count after docker stop (kill, die, stop events)',
    ).to.equal(1);
    expect(
      countFor(master, 'container_stop', removed.id),
      'container_stop count after docker rm -f (kill, die, destroy events)',
    ).to.equal(1);
    const sent = bodyOf(stopReq!).container as SentContainer;
    expect(sent).to.include({ id: stopped.id, name: stopped.name });
    expect(sent.labels).to.deep.equal(labels);
    const types = master.requests.filter((r) => r.endpoint === 'events').map((r) => bodyOf(r).type);
    expect(types, 'container_die is never sent (a v2 master rejects it)').not.to.include('container_die');
    expect(
      master.requests.filter((r) => r.endpoint === 'events' && r.status >= 400),
      'no event was rejected',
    ).to.be.empty;
  });

  it('50 labelled containers started and stopped in parallel: exactly one accepted container_start and one container_stop each', async function () {
    this.timeout(90_000);
    const began = Date.now();
    master = await harness.master();
    await startAgent();
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runLabelled(docker, {
          name: `dfa-ds-par-${i}-${Date.now()}`,
          labels: { 'dockflare.enable': 'true', 'dockflare.hostname': `p${i}.example.com` },
          start: false,
        }),
      ),
    );
    const ids = new Set(created.map((c) => c.id));
    const ours = (b: Body): boolean => ids.has(((b.container ?? {}) as SentContainer).id);

    await Promise.all(created.map((c) => docker.getContainer(c.id).start()));
    await waitForAccepted(master, 'container_start', {
      count: 50,
      where: ours,
      timeoutMs: 30_000,
      what: '50 accepted container_start',
    });
    await Promise.all(created.map((c) => docker.getContainer(c.id).stop({ t: 5 })));
    await waitForAccepted(master, 'container_stop', {
      count: 50,
      where: ours,
      timeoutMs: 30_000,
      what: '50 accepted container_stop',
    });
    await barrier('after 50 parallel stops');

    const history = historyById(master);
    const wrong = created
      .filter((c) => JSON.stringify(history.get(c.id)) !== JSON.stringify(['start', 'stop']))
      .map((c) => `${c.name}: ${JSON.stringify(history.get(c.id) ?? [])}`);
    expect(wrong, 'containers whose accepted history is not exactly [start, stop]').to.deep.equal([]);
    expect(
      master.requests.filter((r) => r.endpoint === 'events' && r.status >= 400),
      'no event was rejected',
    ).to.be.empty;
    expect(Date.now() - began, 'the whole spec takes under 60 s').to.be.below(60_000);
  });
});
