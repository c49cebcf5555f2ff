import { expect } from 'chai';
import { scaledSpec, serviceSpec, specDrift, taskOf } from '../../../../actors/tunnel-keeper/tunnel-service.js';
import type { ServiceState } from '../../../../docker/swarm-port.js';
import { serviceFromSpec } from '../../../helpers/swarm-stand-in.js';
import { unusableNetwork } from '../../../../docker/swarm-port.js';

const want = {
  image: 'cloudflare/cloudflared:2025.9.0',
  network: 'cloudflare-net',
  createNetwork: true,
  token: 'tok-secret',
  tunnelId: 'tid',
  tunnelName: 'tname',
  replicas: 2,
};
const asRunning = (over: Partial<ServiceState> = {}): ServiceState => ({
  ...serviceFromSpec(serviceSpec(want, 'net-1'), 'svc', 7),
  ...over,
});

describe('actors/tunnel-keeper/service', () => {
  it('the spec: token in the environment only, the tunnel command as args, the agent labels', () => {
    const spec = serviceSpec(want, 'net-1');
    expect(spec.env).to.deep.equal(['TUNNEL_TOKEN=tok-secret']);
    expect(spec.args).to.deep.equal(['tunnel', '--no-autoupdate', 'run']);
    expect(JSON.stringify(spec.labels)).not.to.include('tok-secret');
    expect(Object.keys(spec.labels).some((k) => k.startsWith('dockflare.'))).to.equal(false);
  });

  it('drift is named by field, never by value', () => {
    const spec = serviceSpec(want, 'net-1');
    expect(specDrift(asRunning(), spec)).to.deep.equal([]);
    expect(specDrift(asRunning({ replicas: 0 }), spec)).to.deep.equal(['replicas']);
    expect(specDrift(asRunning({ image: 'other' }), spec)).to.deep.equal(['image']);
    expect(specDrift(asRunning({ env: ['TUNNEL_TOKEN=old'] }), spec)).to.deep.equal(['token']);
    expect(specDrift(asRunning({ networkIds: [] }), spec)).to.deep.equal(['network']);
    expect(specDrift(asRunning({ restartCondition: 'on-failure' }), spec)).to.deep.equal(['restart_policy']);
  });

  it('a task made before an update (another token or image) is not one of the spec', () => {
    const spec = serviceSpec(want, 'net-1');
    const t = {
      id: 't',
      serviceId: 'svc',
      nodeId: 'n',
      state: 'running',
      desiredState: 'running',
      containerId: null,
      since: '',
      error: null,
      forceUpdate: 0,
    };
    expect(taskOf({ ...t, image: spec.image, env: ['A=1', ...spec.env] }, spec)).to.equal(true);
    expect(taskOf({ ...t, image: spec.image, env: ['TUNNEL_TOKEN=old'] }, spec)).to.equal(false);
    expect(taskOf({ ...t, image: 'other', env: spec.env }, spec)).to.equal(false);
  });

  it('a scale keeps everything else of the spec', () => {
    const scaled = scaledSpec(asRunning(), 0);
    expect(scaled.replicas).to.equal(0);
    expect(specDrift(asRunning(), { ...scaled, replicas: 2 })).to.deep.equal([]);
  });

  it('only an attachable overlay network of swarm scope carries the tunnel service', () => {
    const base = { id: 'n', name: 'cloudflare-net', driver: 'overlay', scope: 'swarm', attachable: true };
    expect(unusableNetwork(base)).to.equal(null);
    expect(unusableNetwork({ ...base, driver: 'bridge', scope: 'local' })).to.equal(
      'it is a bridge network of local scope',
    );
    expect(unusableNetwork({ ...base, attachable: false })).to.match(/not attachable/);
  });
});
