import { expect } from 'chai';
import type { TunnelKeeperState } from '../../../../actors/tunnel-keeper/keeper-state.js';
import type { KeeperMemory } from '../../../../actors/tunnel-keeper/probation.js';
import { tunnelKeeperDef } from '../../../../actors/tunnel-keeper/tunnel-keeper.js';
import type { ServiceState, TaskState, TunnelServiceSpec } from '../../../../docker/swarm-port.js';
import type { Lifecycle } from '../../../../domain/lifecycle.js';
import { StatusBoard } from '../../../../domain/status-board.js';
import type { ReporterMsg } from '../../../../messages/reporter.js';
import {
  tunnelRestart,
  tunnelServiceEvent,
  tunnelStart,
  tunnelStop,
  type TunnelKeeperMsg,
} from '../../../../messages/tunnel-keeper.js';
import { EMPTY_TUNNEL_STATE, type TunnelState } from '../../../../persistence/formats.js';
import { callbackRef } from '../../../../supervisor/actor-ref.js';
import { ActorDriver } from '../../../helpers/actor-driver.js';
import { KEEPER_SETTINGS, tunnelStore } from '../../../helpers/keeper-run.js';
import { dockerStandIn } from '../../../helpers/docker-stand-in.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { serviceFromSpec, swarmStandIn } from '../../../helpers/swarm-stand-in.js';

const ONE = { tunnelId: 't1', tunnelName: 'home', token: 'token-one' };
const NET = { id: 'net-1', name: 'cloudflare-net', driver: 'overlay', scope: 'swarm', attachable: true };

/** The keeper in Swarm mode against a small model of one swarm: the service's spec, its tasks, the updates made. */
class SwarmKeeperRun {
  readonly clock = new ManualClock();
  readonly sink = new LogSink();
  readonly told: string[] = [];
  readonly updates: TunnelServiceSpec[] = [];
  service: ServiceState | null = null;
  tasks: TaskState[] = [];
  saved: TunnelState = EMPTY_TUNNEL_STATE;
  readonly lifecycle: { lifecycle: Lifecycle } = { lifecycle: 'enrolled' };
  private readonly driver: ActorDriver<TunnelKeeperState, TunnelKeeperMsg, KeeperMemory>;
  private seq = 0;

  constructor() {
    const apply = (spec: TunnelServiceSpec): ServiceState =>
      serviceFromSpec(spec, 'svc-1', (this.service?.version ?? 0) + 1);
    const swarm = swarmStandIn('keeper-swarm spec', {
      inspectNetwork: () => Promise.resolve(NET),
      inspectService: () => Promise.resolve(this.service),
      createService: (spec) => {
        this.service = apply(spec);
        return Promise.resolve('svc-1');
      },
      updateService: (_id, version, spec) => {
        if (version !== this.service?.version) return Promise.reject(new Error('stale version'));
        this.updates.push(spec);
        this.service = apply(spec);
        return Promise.resolve();
      },
      listActiveTasks: () => Promise.resolve(this.tasks),
      serviceLogTail: () => Promise.resolve(['INF Version 2025.9.0']),
    });
    const reporter = callbackRef<ReporterMsg>('reporter', (msg) => {
      if (msg.type === 'reporter.enqueue' && msg.event.type === 'tunnel_status') this.told.push(msg.event.status);
    });
    const def = tunnelKeeperDef({
      docker: dockerStandIn('keeper-swarm spec', {}),
      store: tunnelStore(
        () => this.saved,
        (s) => {
          this.saved = s;
          return true;
        },
      ),
      reporter,
      board: new StatusBoard('https://master.example'),
      ...KEEPER_SETTINGS,
      lifecycle: this.lifecycle,
      swarm: { swarm, replicas: 2 },
    });
    this.driver = new ActorDriver(def, { name: 'tunnel-keeper', log: this.sink.log, clock: this.clock });
  }

  async start(): Promise<void> {
    await this.driver.start();
    await this.driver.advance(0);
  }

  send(msg: TunnelKeeperMsg): Promise<void> {
    return this.driver.send(msg);
  }

  advance(ms: number): Promise<void> {
    return this.driver.advance(ms);
  }

  /** `count` tasks of the service's current spec running, stamped by Swarm long ago (a node's clock may say so). */
  run(count: number): void {
    const s = this.service!;
    this.tasks = Array.from({ length: count }, () => ({
      id: `task-${++this.seq}`,
      serviceId: s.id,
      nodeId: 'n1',
      state: 'running',
      desiredState: 'running',
      containerId: null,
      since: '2020-01-01T00:00:00Z',
      image: s.image,
      env: s.env,
      error: null,
      forceUpdate: s.forceUpdate,
    }));
  }
}

describe('actors/tunnel-keeper in Swarm mode', () => {
  it('tells running once a task has run for the confirm time on our clock, whatever its Swarm timestamp says', async () => {
    const run = new SwarmKeeperRun();
    await run.start();
    await run.send(tunnelStart(ONE));
    expect(run.service?.env).to.deep.equal(['TUNNEL_TOKEN=token-one']);
    run.run(2);
    await run.send(tunnelServiceEvent('container start'));
    await run.advance(1999);
    expect(run.told, 'a task stamped long ago is not confirmed at first sight').to.deep.equal([]);
    await run.advance(1000);
    expect(run.told).to.deep.equal(['running']);
    await run.advance(120_000);
    expect(run.told, 'told once').to.deep.equal(['running']);
  });

  it('restart_tunnel raises ForceUpdate (Swarm replaces the tasks) and is told again', async () => {
    const run = new SwarmKeeperRun();
    await run.start();
    await run.send(tunnelStart(ONE));
    run.run(2);
    await run.advance(5000);
    await run.send(tunnelRestart(ONE));
    expect(run.updates.map((u) => u.forceUpdate)).to.deep.equal([1]);
    // The old tasks still run: they are not the restart's, however long they have run.
    await run.send(tunnelServiceEvent('service update'));
    await run.advance(5000);
    expect(run.told).to.deep.equal(['running']);
    run.run(2);
    await run.send(tunnelServiceEvent('container start'));
    await run.advance(5000);
    expect(run.told).to.deep.equal(['running', 'running']);
  });

  it('a new token: the spec updated in place, and only tasks of the new token count', async () => {
    const run = new SwarmKeeperRun();
    await run.start();
    await run.send(tunnelStart(ONE));
    run.run(2);
    await run.advance(5000);
    await run.send(tunnelStart({ tunnelId: 't2', tunnelName: 'other', token: 'token-two' }));
    expect(run.service?.env).to.deep.equal(['TUNNEL_TOKEN=token-two']);
    // The old tasks still run (a rolling update): they are not the new tunnel.
    run.tasks = run.tasks.map((t) => ({ ...t, env: ['TUNNEL_TOKEN=token-one'] }));
    await run.advance(10_000);
    expect(run.told).to.deep.equal(['running']);
    run.run(1);
    // Its container's start reaches the keeper as an event of the tunnel service.
    await run.send(tunnelServiceEvent('container start'));
    await run.advance(5000);
    expect(run.told).to.deep.equal(['running', 'running']);
    expect(JSON.stringify(run.sink.records)).not.to.include('token-two');
  });

  it('tasks that never run: looked at less and less often, one warning with Swarm’s account', async () => {
    const run = new SwarmKeeperRun();
    await run.start();
    await run.send(tunnelStart(ONE));
    run.tasks = [
      {
        id: 'x',
        serviceId: 'svc-1',
        nodeId: null,
        state: 'pending',
        desiredState: 'running',
        containerId: null,
        since: '',
        image: 'cloudflare/cloudflared:test',
        env: ['TUNNEL_TOKEN=token-one'],
        error: 'no suitable node',
        forceUpdate: 0,
      },
    ];
    await run.advance(10 * 60_000);
    const warned = run.sink.events('tunnel_service_not_running');
    expect(warned).to.have.length(1);
    expect(JSON.stringify(warned[0]!.tasks)).to.include('no suitable node');
    const looks = run.sink.records.filter((r) => r.event === 'tunnel_service_not_running').length;
    expect(looks).to.equal(1);
    expect(run.told).to.deep.equal([]);
  });

  it('stop_tunnel scales the service to 0 and takes the token out of its spec', async () => {
    const run = new SwarmKeeperRun();
    await run.start();
    await run.send(tunnelStart(ONE));
    run.run(2);
    await run.advance(5000);
    await run.send(tunnelStop());
    expect(run.service).to.include({ replicas: 0 });
    expect(run.service?.env).to.deep.equal([]);
    // Twice: Swarm keeps the spec before an update for a rollback, and that one held the token.
    expect(run.updates.map((u) => u.env)).to.deep.equal([[], []]);
    expect(run.told).to.deep.equal(['running', 'stopped']);
  });
});
