import { expect } from 'chai';
import { buildEventBody, buildStatusReport } from '../../../master/envelope.js';
import type { Identity } from '../../../domain/identity.js';

const v2: Identity = { agentId: 'a', sessionId: 's', protocolVersion: 2 };
const svc = {
  id: 'kq3xr8mv1pz0ab7cd9ef2gh4i',
  name: 'web',
  status: 'running',
  labels: { 'dockflare.enable': 'true' },
  swarm: { serviceId: 'kq3xr8mv1pz0ab7cd9ef2gh4i', replicasRunning: 2, replicasDesired: 3 },
};

describe('master/envelope: a Swarm service as a container entry', () => {
  it('carries what it is beside the container fields, in events and in reports', () => {
    const body = buildEventBody(v2, { type: 'container_start', container: svc, timestamp: 't' }, 1);
    expect(body.container).to.deep.equal({
      id: svc.id,
      name: 'web',
      status: 'running',
      labels: { 'dockflare.enable': 'true' },
      mode: 'swarm',
      service_id: svc.id,
      replicas_running: 2,
      replicas_desired: 3,
    });
    const report = buildStatusReport(v2, { ok: true, containers: [svc] }, 1, 't');
    expect((report?.containers as { mode?: string }[])[0]?.mode).to.equal('swarm');
  });

  it('a container stays exactly as it was', () => {
    const { swarm: _swarm, ...plain } = svc;
    const body = buildEventBody(v2, { type: 'container_start', container: plain, timestamp: 't' }, 1);
    expect(Object.keys(body.container as object)).to.deep.equal(['id', 'name', 'status', 'labels']);
  });
});
