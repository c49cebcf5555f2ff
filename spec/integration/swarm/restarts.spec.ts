import { expect } from 'chai';
import { injectCrash } from '../../../supervisor/protocol.js';
import { tell } from '../../../supervisor/actor-ref.js';
import { ensureDaemonRunning, privateDaemon, startDaemon, stopDaemon } from '../../helpers/docker-daemon.js';
import { bodyOf, containerEvents, historyOf, waitForAccepted } from '../../helpers/docker-events.js';
import { pollUntil, uniqueName } from '../../helpers/docker-fixtures.js';
import {
  createService,
  ensureOverlay,
  runningTasks,
  SWARM_NETWORK,
  tunnelService,
  useSwarmSession,
  waitForRunningTasks,
} from '../../helpers/swarm.js';

const ENABLED = { 'dockflare.enable': 'true', 'dockflare.hostname': 'svc.example.com' };
const SWARM_ENV = { DOCKER_MODE: 'swarm', CLOUDFLARED_NETWORK_NAME: SWARM_NETWORK };

describe('swarm: restarts of the watcher, the agent and the engine (real single-node swarm)', function () {
  this.timeout(150_000);
  const daemon = privateDaemon();
  const { docker, harness } = useSwarmSession(async () => {
    if (daemon) await ensureDaemonRunning(daemon);
  });

  it('the watcher crashed, then the agent restarted, with services running: each told once per run, the tunnel service adopted', async () => {
    await ensureOverlay(docker);
    const a = await createService(docker, uniqueName('dfa-keep-a'), ENABLED, { replicas: 2 });
    const b = await createService(docker, uniqueName('dfa-keep-b'), ENABLED);
    await waitForRunningTasks(docker, a, 2);
    await waitForRunningTasks(docker, b, 1);
    const master = await harness.master();
    const keep = { ...SWARM_ENV, TUNNEL_REMOVE_ON_SHUTDOWN: 'false' };
    const first = await harness.agent({ env: keep });
    const agentId = await first.registered();
    master.enroll(agentId, uniqueName('dfa-tunnel'));
    await waitForAccepted(master, 'container_start', { id: a, timeoutMs: 15_000 });
    await waitForAccepted(master, 'container_start', { id: b, timeoutMs: 15_000 });
    await waitForAccepted(master, 'tunnel_status', { where: (x) => x.status === 'running', timeoutMs: 20_000 });
    const tunnel = (await tunnelService(docker))!;

    tell(first.agent.cells.workers, injectCrash('event-watcher', 'spec: watcher crash with services running'));
    await first.sink.waitFor((r) => r.event === 'event_stream_subscribed' && r.resumed === true, 15_000, 'resumed');
    // A barrier: a service started after the crash is told, so everything before it was handled.
    const c = await createService(docker, uniqueName('dfa-after'), ENABLED);
    await waitForAccepted(master, 'container_start', { id: c, timeoutMs: 15_000 });
    expect(historyOf(master, a), 'not told again after the watcher crash').to.deep.equal(['start']);
    expect(historyOf(master, b)).to.deep.equal(['start']);

    await first.stop({ keepData: true });
    const since = Date.now();
    const second = await harness.agent({ env: keep, dataDir: first.dataDir, key: first.config.master.apiKey });
    await second.registered();
    await waitForAccepted(master, 'container_start', { after: since, count: 3, timeoutMs: 15_000 });
    // A barrier again: whatever the new run had to tell about a, b and c came before this one.
    const d = await createService(docker, uniqueName('dfa-barrier'), ENABLED);
    await waitForAccepted(master, 'container_start', { id: d, timeoutMs: 15_000 });
    const [report] = await waitForAccepted(master, 'status_report', {
      after: since,
      where: (x) => x.inventory_complete === true && Array.isArray(x.containers) && x.containers.length === 4,
      timeoutMs: 15_000,
    });
    expect((bodyOf(report!).containers as { id: string }[]).map((x) => x.id)).to.have.members([a, b, c, d]);
    const startsSince = (id: string): number =>
      containerEvents(master).filter((e) => e.at > since && e.type === 'container_start' && e.container.id === id)
        .length;
    for (const id of [a, b, c]) expect(startsSince(id), 'once by the new run, not once per task').to.equal(1);
    await second.sink.waitFor((r) => r.event === 'tunnel_service_running', 15_000, 'the tunnel service adopted');
    expect(second.sink.events('tunnel_service_created'), 'adopted, not recreated').to.deep.equal([]);
    expect((await tunnelService(docker))!.Version.Index, 'left as it was').to.equal(tunnel.Version.Index);
  });

  it('the engine restarted: services and the tunnel service come back, nothing is told twice in a row, the tunnel service is not recreated', async function () {
    if (!daemon) this.skip();
    await ensureOverlay(docker);
    const id = await createService(docker, uniqueName('dfa-survivor'), ENABLED);
    const master = await harness.master();
    const agent = await harness.agent({ env: SWARM_ENV });
    master.enroll(await agent.registered(), uniqueName('dfa-tunnel'));
    await waitForAccepted(master, 'container_start', { id, timeoutMs: 15_000 });
    await waitForAccepted(master, 'tunnel_status', { where: (x) => x.status === 'running', timeoutMs: 20_000 });
    const tunnel = (await tunnelService(docker))!;

    await stopDaemon(daemon);
    await startDaemon(daemon);
    await pollUntil(async () => (await runningTasks(docker, id)).length === 1, 60_000, 'the service running again');
    await waitForRunningTasks(docker, tunnel.ID, 2, 60_000);
    await agent.sink.waitFor((r) => r.event === 'event_stream_subscribed' && r.resumed === true, 30_000, 'resumed');
    // After the gap the master gets the whole inventory, with the service in it.
    await waitForAccepted(master, 'status_report', {
      after: Date.now(),
      where: (x) => Array.isArray(x.containers) && x.containers.some((c: { id?: string }) => c.id === id),
      timeoutMs: 20_000,
    });
    // Told running in the end: a stop told while its task was down is followed by a start once it runs again.
    const history = await pollUntil(
      () => Promise.resolve(historyOf(master, id).at(-1) === 'start' ? historyOf(master, id) : null),
      10_000,
      'the service told running again',
    );
    expect(
      history.every((h, i) => h === (i % 2 === 0 ? 'start' : 'stop')),
      history.join(','),
    ).to.equal(true);
    expect((await tunnelService(docker))!.ID, 'the same tunnel service').to.equal(tunnel.ID);
    expect(agent.sink.events('tunnel_service_created')).to.have.length(1);
  });

  it('the node stops being a manager: reports say "incomplete" instead of empty, nothing is told stopped, each failure is logged once', async () => {
    await ensureOverlay(docker);
    const id = await createService(docker, uniqueName('dfa-orphan'), ENABLED);
    const master = await harness.master();
    const agent = await harness.agent({ env: SWARM_ENV });
    master.enroll(await agent.registered(), uniqueName('dfa-tunnel'));
    await waitForAccepted(master, 'container_start', { id, timeoutMs: 15_000 });
    await waitForAccepted(master, 'tunnel_status', { where: (x) => x.status === 'running', timeoutMs: 20_000 });

    await docker.swarmLeave({ force: true });
    const since = Date.now();
    // The master answers such a report 202 inventory_incomplete, and keeps the routes it has.
    await master.waitForCount(
      (r) => {
        const b = bodyOf(r);
        return r.at > since && b.type === 'status_report' && b.inventory_complete === false && !('containers' in b);
      },
      3,
      15_000,
    );
    // Long enough for several looks: the periodic check of the keeper and task events of the watcher.
    await agent.sink.waitFor((r) => r.event === 'tunnel_reconcile_failed', 15_000, 'the keeper failing');
    expect(
      containerEvents(master).filter((e) => e.type === 'container_stop'),
      'no stop told',
    ).to.deep.equal([]);
    expect(
      agent.sink.events('swarm_scan_failed').filter((r) => r.level === 40),
      'warned once',
    ).to.have.length(1);
    expect(agent.sink.events('actor_crashed'), 'no actor crashed').to.deep.equal([]);
  });
});
