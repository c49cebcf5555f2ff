import { expect } from 'chai';
import {
  applyService,
  CONVERGE_CHECKS,
  convergeDelayMs,
  serviceSteps,
} from '../../../../actors/event-watcher/service-looks.js';
import { newWatcherMemory } from '../../../../actors/event-watcher/watcher-memory.js';
import { serviceEntry } from '../../../../docker/swarm-inventory.js';
import type { ServiceState, TaskState } from '../../../../docker/swarm-port.js';
import { StatusBoard } from '../../../../domain/status-board.js';
import type { EventWatcherMsg } from '../../../../messages/event-watcher.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { swarmStandIn } from '../../../helpers/swarm-stand-in.js';

const service = (id: string, labels: Record<string, string>, replicas = 1): ServiceState => ({
  id,
  name: `svc-${id}`,
  version: 1,
  labels,
  image: 'img',
  env: [],
  args: [],
  replicas,
  networkIds: ['net-1'],
  restartCondition: 'any',
  forceUpdate: 0,
});
const task = (serviceId: string, state: string): TaskState => ({
  id: `${serviceId}-${state}-${Math.random()}`,
  serviceId,
  nodeId: 'n1',
  state,
  desiredState: 'running',
  containerId: null,
  since: '',
  image: 'img',
  env: [],
  error: null,
  forceUpdate: 0,
});
const ON = { 'dockflare.enable': 'yes', 'dockflare.hostname': 'a.example.com', 'other.label': 'x' };

describe('actors/event-watcher/service-watch', () => {
  it('tells a service once when it starts running, again only when its labels change, a stop when it is gone', () => {
    const memory = newWatcherMemory();
    const running = serviceEntry(service('s1', ON), 1, 1);
    expect(running.labels, 'only the two prefixes').to.deep.equal({
      'dockflare.enable': 'yes',
      'dockflare.hostname': 'a.example.com',
    });
    expect(applyService(memory, 's1', running)?.kind).to.equal('start');
    expect(applyService(memory, 's1', serviceEntry(service('s1', ON), 2, 2)), 'a count change is no news').to.equal(
      null,
    );
    const moved = serviceEntry(service('s1', { ...ON, 'dockflare.hostname': 'b.example.com' }), 2, 2);
    expect(applyService(memory, 's1', moved)?.kind).to.equal('start');
    const stopped = applyService(memory, 's1', serviceEntry(service('s1', ON), 0, 1));
    expect(stopped?.kind).to.equal('stop');
    expect(stopped?.entry).to.include({ id: 's1', status: 'exited' });
    expect(applyService(memory, 's1', null), 'told once').to.equal(null);
  });

  it('a sweep looks again soon at a service that has not converged, but not at one stuck with the same counts', async () => {
    const memory = newWatcherMemory();
    let tasks: TaskState[] = [task('s1', 'preparing')];
    const swarm = swarmStandIn('sweep', {
      listServices: () => Promise.resolve([service('s1', ON)]),
      listActiveTasks: () => Promise.resolve(tasks),
      inspectNetwork: () =>
        Promise.resolve({ id: 'net-1', name: 'n', driver: 'overlay', scope: 'swarm', attachable: true }),
    });
    const sink = new LogSink();
    const steps = serviceSteps({ swarm, network: 'n', sweepMs: 30_000, board: new StatusBoard('http://m') });
    const scheduled: [string, number, EventWatcherMsg][] = [];
    const timers = { once: (k: string, ms: number, m: EventWatcherMsg) => void scheduled.push([k, ms, m]) };
    const signal = new AbortController().signal;
    expect(await steps.sweep(memory, sink.log, timers, signal)).to.deep.equal([]);
    expect(scheduled.map(([k]) => k)).to.deep.equal(['svc:s1']);
    await steps.sweep(memory, sink.log, timers, signal);
    expect(scheduled, 'same counts: no new look').to.have.length(1);
    tasks = [task('s1', 'running')];
    const changes = await steps.sweep(memory, sink.log, timers, signal);
    expect(changes.map((c) => c.kind)).to.deep.equal(['start']);
  });

  it('looks each 500 ms for ten seconds, then each 2 s, and stops after two minutes', () => {
    expect(convergeDelayMs(0)).to.equal(500);
    expect(convergeDelayMs(19)).to.equal(500);
    expect(convergeDelayMs(20)).to.equal(2000);
    const total = Array.from({ length: CONVERGE_CHECKS }, (_v, i) => convergeDelayMs(i)).reduce((a, b) => a + b, 0);
    expect(total).to.be.within(120_000, 180_000);
  });

  it('warns once about a labelled service that shares no network with cloudflared, naming both', async () => {
    const memory = newWatcherMemory();
    const lonely = { ...service('s2', ON), networkIds: ['other'] };
    const swarm = swarmStandIn('warn', {
      inspectService: () => Promise.resolve(lonely),
      listActiveTasks: () => Promise.resolve([task('s2', 'running')]),
      inspectNetwork: () =>
        Promise.resolve({ id: 'net-1', name: 'cloudflare-net', driver: 'overlay', scope: 'swarm', attachable: true }),
    });
    const sink = new LogSink();
    const steps = serviceSteps({ swarm, network: 'cloudflare-net', sweepMs: 30_000, board: new StatusBoard('x') });
    const timers = { once: () => undefined };
    const signal = new AbortController().signal;
    await steps.checkService(memory, sink.log, timers, 's2', 0, signal);
    await steps.checkService(memory, sink.log, timers, 's2', 0, signal);
    expect(sink.events('service_unreachable')).to.have.length(1);
    expect(sink.events('service_unreachable')[0]).to.include({ service: 'svc-s2', network: 'cloudflare-net' });
  });
});
