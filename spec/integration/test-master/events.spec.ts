import { expect } from 'chai';
import { type TestMaster } from '../../master/index.js';
import { ID_A, ID_B, managed, masterCalls } from '../../helpers/master-calls.js';

describe('spec/master: the test master, v2 events', () => {
  let master!: TestMaster;
  let key!: string;
  const { start, registerV2, post } = masterCalls({
    get: () => ({ master, key }),
    set: (m, k) => {
      master = m;
      key = k;
    },
  });

  let id: string;
  let session: string;
  const event = (type: string, seq: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    type,
    protocol_version: 2,
    agent_session_id: session,
    [type === 'status_report' ? 'report_sequence' : 'event_sequence']: seq,
    timestamp: '2026-01-15T09:30:00.000000+00:00',
    ...extra,
  });
  const report = (seq: number, containers: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> =>
    event('status_report', seq, {
      inventory_complete: true,
      inventory_scope: 'dockflare_enabled_running',
      containers,
      ...extra,
    });
  const states = (): Record<string, string> =>
    Object.fromEntries([...master.agent(id)!.containers].map(([k, v]) => [k, v.state]));

  beforeEach(async () => {
    await start('v2', { maxContainers: 3 });
    ({ id, session } = await registerV2());
  });

  it('accepts a new sequence, answers duplicate_sequence for the same and stale_sequence for a lower one', async () => {
    expect((await post(id, event('heartbeat', 1))).json).to.deep.equal({ status: 'success', code: 'accepted_noop' });
    const start2 = await post(id, event('container_start', 2, { container: managed(ID_A) }));
    expect([start2.status, (start2.json as { code: string }).code]).to.deep.equal([200, 'accepted']);
    const dup = await post(id, event('container_start', 2, { container: managed(ID_A) }));
    expect([dup.status, (dup.json as { code: string }).code]).to.deep.equal([200, 'duplicate_sequence']);
    const stale = await post(id, event('heartbeat', 1));
    expect([stale.status, (stale.json as { code: string }).code]).to.deep.equal([409, 'stale_sequence']);
    expect(master.acceptedEvents(id).map((e) => e.type)).to.deep.equal(['heartbeat', 'container_start']);
    expect(master.agent(id)).to.include({ lastEventSequence: 2, lastReportSequence: 0 });
    // The report counter is independent, and re-registration resets both.
    expect((await post(id, report(1, []))).status).to.equal(200);
    ({ session } = await registerV2());
    expect((await post(id, event('heartbeat', 1))).status).to.equal(202);
  });

  it('answers 409 registration_required after dropSession, for a wrong session and for protocol_version ≠ 2', async () => {
    const wrong = await post(id, { ...event('heartbeat', 1), agent_session_id: 'x'.repeat(43) });
    expect([wrong.status, (wrong.json as { code: string }).code]).to.deep.equal([409, 'registration_required']);
    expect((await post(id, { ...event('heartbeat', 1), protocol_version: 1 })).status).to.equal(409);
    expect((await post(id, { type: 'heartbeat', event_sequence: 1 })).status).to.equal(409);
    master.dropSession(id);
    const dropped = await post(id, event('heartbeat', 1));
    expect((dropped.json as { code: string }).code).to.equal('registration_required');
    expect(master.acceptedEvents()).to.be.empty;
  });

  it('rejects container_die, bad sequences, malformed containers and unknown agents', async () => {
    const die = await post(id, event('container_die', 1, { container: managed(ID_A) }));
    expect([die.status, (die.json as { code: string }).code]).to.deep.equal([400, 'invalid_payload']);
    for (const seq of [0, -1, 1.5, true, '3', null, 2 ** 64]) {
      expect((await post(id, { ...event('heartbeat', 1), event_sequence: seq })).status, String(seq)).to.equal(400);
    }
    const noEnable = {
      ...managed(ID_A),
      labels: { 'dockflare.enable': 'no', 'dockflare.hostname': 'x.example.com' },
    };
    for (const container of [
      noEnable,
      { ...managed(ID_A), id: '' },
      { ...managed(ID_A), labels: { 'dockflare.enable': 1 } },
      undefined,
    ]) {
      expect((await post(id, event('container_start', 1, { container }))).status).to.equal(400);
    }
    expect((await post('00000000-0000-4000-8000-000000000000', event('heartbeat', 1))).status).to.equal(403);
    expect(master.agent(id)!.containers.size).to.equal(0);
    expect(master.agent(id)!.lastEventSequence).to.equal(0);
  });

  it('keeps only dockflare./cloudflare.tunnel. labels and accepts any truthy enable value', async () => {
    const container = managed(ID_A, { 'com.docker.compose.project': 'web', 'cloudflare.tunnel.path': '/x' });
    (container.labels as Record<string, string>)['dockflare.enable'] = 'YES';
    expect((await post(id, event('container_start', 1, { container }))).status).to.equal(200);
    expect(master.agent(id)!.containers.get(ID_A)).to.deep.equal({
      name: 'web-aaaa',
      state: 'active',
      labels: { 'dockflare.enable': 'YES', 'dockflare.hostname': 'web.example.com', 'cloudflare.tunnel.path': '/x' },
    });
    expect((await post(id, event('container_stop', 2, { container: managed(ID_A) }))).status).to.equal(200);
    expect(states()).to.deep.equal({ [ID_A]: 'pending_deletion' });
  });

  it('deletes unreported containers only for a complete, scoped, well-formed report', async () => {
    await post(id, event('container_start', 1, { container: managed(ID_A) }));
    await post(id, event('container_start', 2, { container: managed(ID_B) }));
    const incomplete = [
      { inventory_complete: false, containers: undefined },
      { inventory_scope: 'all' },
      { containers: [managed(ID_A), { id: 42 }] },
      { containers: undefined, container: { containers: [managed(ID_A)] } },
    ];
    let seq = 0;
    for (const extra of incomplete) {
      const res = await post(id, report(++seq, [managed(ID_A)], extra));
      expect([res.status, (res.json as { code: string }).code], JSON.stringify(extra)).to.deep.equal([
        202,
        'inventory_incomplete',
      ]);
      expect(states()).to.deep.equal({ [ID_A]: 'active', [ID_B]: 'active' });
    }
    const complete = await post(id, report(++seq, [managed(ID_A)]));
    expect([complete.status, (complete.json as { code: string }).code]).to.deep.equal([200, 'accepted']);
    expect(states()).to.deep.equal({ [ID_A]: 'active', [ID_B]: 'pending_deletion' });
    const tooMany = await post(
      id,
      report(
        seq + 1,
        ['1', '2', '3', '4'].map((c) => managed(c.repeat(64))),
      ),
    );
    expect([tooMany.status, (tooMany.json as { code: string }).code]).to.deep.equal([413, 'payload_too_large']);
  });

  it('stores tunnel_status from the top level, from payload.tunnel, and with the state alias', async () => {
    await post(
      id,
      event('tunnel_status', 1, {
        status: 'running',
        name: 'nas-01-tunnel',
        version: 'cloudflared version 2025.9.0',
      }),
    );
    expect(master.agent(id)!.tunnelStatus).to.deep.equal({
      status: 'running',
      name: 'nas-01-tunnel',
      version: 'cloudflared version 2025.9.0',
    });
    await post(id, event('tunnel_status', 2, { tunnel: { state: 'stopped', name: 't' } }));
    expect(master.agent(id)!.tunnelStatus).to.deep.equal({ status: 'stopped', name: 't', version: null });
    expect(master.agent(id)!.lastEvent).to.include({ type: 'tunnel_status', event_sequence: 2 });
  });
});
