import { expect } from 'chai';
import { testDocker } from '../../helpers/docker.js';
import { ensureDaemonRunning, privateDaemon, startDaemon, stopDaemon } from '../../helpers/docker-daemon.js';
import {
  historyById,
  isAccepted,
  waitForAccepted,
  type Body,
  type SentContainer,
} from '../../helpers/docker-events.js';
import {
  inspectOrNull,
  pollUntil,
  removeTestContainers,
  removeTunnelContainer,
  runLabelled,
} from '../../helpers/docker-fixtures.js';
import { exitWithin, fatalLines, waitForLine } from '../../helpers/docker-process.js';
import { useSpecSession } from '../../helpers/spec-session.js';

/** Accepted start/stop history has no two starts (or two stops) in a row: nothing was reported twice. */
function alternates(history: readonly string[]): boolean {
  return history.every((h, i) => h === (i % 2 === 0 ? 'start' : 'stop'));
}

describe('docker side: Docker daemon restarted under a running agent', function () {
  this.timeout(120_000);
  const daemon = privateDaemon();
  const harness = useSpecSession(async () => {
    if (!daemon) return;
    await ensureDaemonRunning(daemon);
    const docker = testDocker();
    await removeTestContainers(docker);
    await removeTunnelContainer(docker);
  });

  it('reports what died with the daemon and what changed after it, resubscribes after a supervised crash, and never reports an unchanged container twice', async function () {
    if (!daemon) {
      this.test!.title +=
        ' (pending: needs the private dockerd of scripts/with-dockerd.sh; DOCKERTEST_DIR and DOCKERTEST_DOCKERD_ARGS are not set)';
      this.skip();
    }
    const docker = testDocker();
    await removeTestContainers(docker);
    const master = await harness.master();

    const labels = (host: string): Record<string, string> => ({
      'dockflare.enable': 'true',
      'dockflare.hostname': `${host}.example.com`,
    });
    const dies = await runLabelled(docker, { name: `dfa-ds-dies-${Date.now()}`, labels: labels('dies') });
    const unchanged = await runLabelled(docker, {
      name: `dfa-ds-unchanged-${Date.now()}`,
      labels: labels('unchanged'),
      restart: 'unless-stopped',
    });
    const stoppedLater = await runLabelled(docker, {
      name: `dfa-ds-stopped-${Date.now()}`,
      labels: labels('stopped'),
      restart: 'always',
    });

    const proc = await harness.process();
    await waitForLine(proc, (r) => r.event === 'registered', 20_000, 'registered');
    await waitForLine(proc, (r) => r.event === 'event_stream_subscribed', 20_000, 'event_stream_subscribed');
    for (const c of [dies, unchanged, stoppedLater])
      await waitForAccepted(master, 'container_start', { id: c.id, timeoutMs: 15_000 });

    await stopDaemon(daemon);
    // The stream break is one crash; keep the engine down until a restarted watcher has failed against it too.
    const watcherCrashes = (): number =>
      proc.lines.filter((r) => r.event === 'actor_crashed' && r.actor === 'event-watcher').length;
    await waitForLine(
      proc,
      (r) => r.event === 'actor_crashed' && r.actor === 'event-watcher',
      10_000,
      'actor_crashed of event-watcher',
    );
    await waitForLine(
      proc,
      () => watcherCrashes() >= 2,
      15_000,
      'a second event-watcher crash (init against the stopped engine)',
    );
    await startDaemon(daemon);
    const upAt = Date.now();

    // The engine brings back what has a restart policy; what had none stays dead.
    await pollUntil(
      async () => {
        const [u, s] = await Promise.all([inspectOrNull(docker, unchanged.id), inspectOrNull(docker, stoppedLater.id)]);
        return u?.State.Running === true && s?.State.Running === true;
      },
      30_000,
      'the restart-policy containers running again after the daemon restart',
    );
    expect(
      (await inspectOrNull(docker, dies.id))?.State.Running,
      'the container without restart policy died with the daemon',
    ).to.equal(false);

    // Changes right after the daemon is back, probably before the watcher has resubscribed.
    const fresh = await runLabelled(docker, { name: `dfa-ds-new-${Date.now()}`, labels: labels('new') });
    await docker.getContainer(stoppedLater.id).stop({ t: 5 });

    await waitForAccepted(master, 'container_stop', {
      id: dies.id,
      timeoutMs: 45_000,
      what: 'container_stop of the container that died with the daemon',
    });
    await waitForAccepted(master, 'container_start', {
      id: fresh.id,
      timeoutMs: 45_000,
      what: 'container_start of the container started after the restart',
    });
    await waitForAccepted(master, 'container_stop', {
      id: stoppedLater.id,
      timeoutMs: 45_000,
      after: upAt,
      what: 'container_stop of the container stopped after the restart',
    });
    const resumed = await waitForLine(
      proc,
      (r) => r.event === 'event_stream_subscribed' && r.resumed === true,
      30_000,
      'event_stream_subscribed with resumed: true',
    );
    expect(resumed.managedRunning, 'managed containers known to the resumed watcher').to.be.a('number');

    // Barrier: a container started now is reported after anything the agent queued before it.
    const sentinel = await runLabelled(docker, { labels: labels('sentinel') });
    await waitForAccepted(master, 'container_start', {
      id: sentinel.id,
      timeoutMs: 15_000,
      what: 'the sentinel container_start',
    });
    // The full inventory after the gap: complete, with the running ones and without the dead ones.
    const [report] = await waitForAccepted(master, 'status_report', {
      timeoutMs: 10_000,
      what: 'a complete status report listing the sentinel',
      where: (b) =>
        b.inventory_complete === true &&
        Array.isArray(b.containers) &&
        (b.containers as SentContainer[]).some((c) => c.id === sentinel.id),
    });
    const listed = new Set(((report!.body as Body).containers as SentContainer[]).map((c) => c.id));
    expect(listed.has(unchanged.id), 'the unchanged container is in the inventory').to.equal(true);
    expect(listed.has(fresh.id), 'the new container is in the inventory').to.equal(true);
    expect(listed.has(dies.id), 'the dead container is not in the inventory').to.equal(false);
    expect(listed.has(stoppedLater.id), 'the stopped container is not in the inventory').to.equal(false);

    const history = historyById(master);
    expect(history.get(dies.id), 'died with the daemon (no restart policy)').to.deep.equal(['start', 'stop']);
    expect(history.get(fresh.id), 'started after the restart').to.deep.equal(['start']);
    const unchangedHistory = history.get(unchanged.id) ?? [];
    expect(
      alternates(unchangedHistory) && unchangedHistory.at(-1) === 'start',
      `unchanged container history ${JSON.stringify(unchangedHistory)}`,
    ).to.equal(true);
    const stoppedHistory = history.get(stoppedLater.id) ?? [];
    expect(
      alternates(stoppedHistory) && stoppedHistory.at(-1) === 'stop',
      `stopped container history ${JSON.stringify(stoppedHistory)}`,
    ).to.equal(true);
    for (const [id, h] of history)
      expect(alternates(h), `history of ${id.slice(0, 12)}: ${JSON.stringify(h)}`).to.equal(true);
    expect(
      master.requests.filter((r) => r.endpoint === 'events' && r.status >= 400),
      'no event was rejected',
    ).to.be.empty;
    expect(
      master.requests.some((r) => isAccepted(r) && r.at > upAt),
      'events were accepted after the daemon came back',
    ).to.equal(true);

    // The stream break is a supervised failure: crash, restart of event-watcher, and nothing process-level.
    expect(
      proc.lines.some((r) => r.event === 'actor_crashed' && r.actor === 'event-watcher'),
      'actor_crashed for event-watcher',
    ).to.equal(true);
    expect(
      proc.lines.some((r) => r.event === 'restart_scheduled' && r.child === 'event-watcher'),
      'restart_scheduled for event-watcher',
    ).to.equal(true);
    expect(fatalLines(proc.lines), 'fatal / process-level lines').to.deep.equal([]);
    expect(proc.child.exitCode, 'the agent process is still running').to.equal(null);
    proc.child.kill('SIGTERM');
    expect(
      (await exitWithin(proc, 12_000, 'SIGTERM after the daemon restart')).code,
      'exit code after SIGTERM',
    ).to.equal(0);
  });
});
