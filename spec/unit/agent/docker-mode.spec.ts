import { expect } from 'chai';
import { decideDockerMode } from '../../../agent/docker-mode.js';
import { DockerError } from '../../../docker/port.js';
import type { SwarmRole } from '../../../docker/swarm-port.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { swarmStandIn } from '../../helpers/swarm-stand-in.js';

const MANAGER: SwarmRole = { localNodeState: 'active', manager: true, nodeId: 'n1', nodes: 3 };
const WORKER: SwarmRole = { localNodeState: 'active', manager: false, nodeId: 'n2', nodes: null };
const OVERLAY = { id: 'x', name: 'cloudflare-net', driver: 'overlay', scope: 'swarm', attachable: true };

describe('agent/docker-mode', () => {
  const deps = (given: Parameters<typeof swarmStandIn>[1], clock = new ManualClock()) => {
    const sink = new LogSink();
    return { sink, clock, deps: { swarm: swarmStandIn('mode', given), log: sink.log, clock, random: () => 0.5 } };
  };

  it('standalone asks Docker nothing', async () => {
    const { deps: d } = deps({});
    expect(await decideDockerMode('standalone', 'cloudflare-net', d)).to.deep.equal({ ok: true, mode: 'standalone' });
  });

  it('auto: swarm on an active manager with a usable (or no) network; standalone on a worker, with the reason', async () => {
    const m = deps({ swarmRole: () => Promise.resolve(MANAGER), inspectNetwork: () => Promise.resolve(OVERLAY) });
    expect(await decideDockerMode('auto', 'cloudflare-net', m.deps)).to.deep.equal({ ok: true, mode: 'swarm' });
    const none = deps({ swarmRole: () => Promise.resolve(MANAGER), inspectNetwork: () => Promise.resolve(null) });
    expect(await decideDockerMode('auto', 'cloudflare-net', none.deps)).to.deep.equal({ ok: true, mode: 'swarm' });
    const w = deps({ swarmRole: () => Promise.resolve(WORKER) });
    expect(await decideDockerMode('auto', 'cloudflare-net', w.deps)).to.deep.equal({ ok: true, mode: 'standalone' });
    expect(w.sink.events('docker_mode')[0]?.why).to.match(/worker/);
  });

  it('swarm on a worker, or a network that cannot carry the service: one line naming the cause', async () => {
    const w = deps({ swarmRole: () => Promise.resolve(WORKER) });
    const onWorker = await decideDockerMode('swarm', 'cloudflare-net', w.deps);
    expect(onWorker).to.deep.equal({
      ok: false,
      line: 'DOCKER_MODE=swarm, but this engine cannot serve a swarm: it is a worker, and the services API answers on managers only',
    });
    const bridge = { ...OVERLAY, driver: 'bridge', scope: 'local' };
    const b = deps({ swarmRole: () => Promise.resolve(MANAGER), inspectNetwork: () => Promise.resolve(bridge) });
    const bad = await decideDockerMode('swarm', 'cloudflare-net', b.deps);
    expect(bad.ok).to.equal(false);
    expect(!bad.ok && bad.line).to.match(/^CLOUDFLARED_NETWORK_NAME=cloudflare-net: it is a bridge network/);
  });

  it('auto where Swarm mode cannot work serves the containers, with a warning saying why', async () => {
    const bridge = { ...OVERLAY, driver: 'bridge', scope: 'local' };
    const b = deps({ swarmRole: () => Promise.resolve(MANAGER), inspectNetwork: () => Promise.resolve(bridge) });
    expect(await decideDockerMode('auto', 'cloudflare-net', b.deps)).to.deep.equal({ ok: true, mode: 'standalone' });
    expect(b.sink.events('docker_mode')[0]).to.include({ level: 40, mode: 'standalone' });
    // A socket proxy without INFO: refused at once, not waited for.
    const refused = () => Promise.reject(new DockerError('failed', 'info', 403, 'forbidden'));
    const p = deps({ swarmRole: refused });
    expect(await decideDockerMode('auto', 'cloudflare-net', p.deps)).to.deep.equal({ ok: true, mode: 'standalone' });
    expect(p.sink.events('docker_mode')[0]?.why).to.match(/no swarm role from Docker \(info: forbidden\)/);
    const strict = await decideDockerMode('swarm', 'cloudflare-net', deps({ swarmRole: refused }).deps);
    expect(!strict.ok && strict.line).to.match(/^DOCKER_MODE=swarm, but Docker refused \/info/);
  });

  it('auto waits a few seconds for a Docker that does not answer, then serves containers (the agent must run)', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const down = () => {
      calls++;
      return Promise.reject(new DockerError('unavailable', 'info', null, 'ENOENT'));
    };
    const d = deps({ swarmRole: down }, clock);
    const decided = decideDockerMode('auto', 'cloudflare-net', d.deps);
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(1000);
    }
    expect(await decided).to.deep.equal({ ok: true, mode: 'standalone' });
    expect(calls).to.be.within(2, 6);
    expect(d.sink.events('docker_mode')[0]?.why).to.match(/no answer within 5 s/);
  });

  it('swarm waits for a Docker that does not answer yet, warning once, then decides', async () => {
    let calls = 0;
    const clock = new ManualClock();
    const d = deps(
      {
        swarmRole: () => {
          calls++;
          if (calls < 4) return Promise.reject(new DockerError('unavailable', 'info', null, 'ECONNREFUSED'));
          return Promise.resolve(MANAGER);
        },
        inspectNetwork: () => Promise.resolve(OVERLAY),
      },
      clock,
    );
    const decided = decideDockerMode('swarm', 'cloudflare-net', d.deps);
    for (let i = 0; i < 10 && calls < 4; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(60_000);
    }
    expect(await decided).to.deep.equal({ ok: true, mode: 'swarm' });
    expect(d.sink.events('docker_mode_waiting').filter((r) => r.level === 40)).to.have.length(1);
  });
});
