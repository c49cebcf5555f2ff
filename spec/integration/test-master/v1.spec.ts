import { expect } from 'chai';
import { agentPaths, type TestMaster } from '../../master/index.js';
import { ID_A, ID_B, UUID, managed, masterCalls } from '../../helpers/master-calls.js';

describe('spec/master: the test master, v1 mode', () => {
  let master!: TestMaster;
  let key!: string;
  const { start, req, register, post } = masterCalls({
    get: () => ({ master, key }),
    set: (m, k) => {
      master = m;
      key = k;
    },
  });

  const AGENT = '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12';
  beforeEach(async () => {
    await start('v1');
  });

  it('accepts a proposed id, echoes the full record, and refuses another key for a bound record', async () => {
    const first = await register({ agent_id: AGENT });
    expect(first.status).to.equal(201);
    const { tunnelId, token } = master.enroll(AGENT, 'nas-01-tunnel');
    const again = await register({ agent_id: AGENT });
    expect(again.status).to.equal(200);
    const body = again.json as { agent: Record<string, unknown> };
    expect(again.json)
      .to.include({ status: 'success', agent_id: AGENT })
      .and.not.have.any.keys('code', 'protocol_version', 'agent_session_id');
    expect(body.agent).to.include({
      api_key: key,
      status: 'enrolled',
      assigned_tunnel_id: tunnelId,
      assigned_tunnel_token: token,
    });
    const other = await register({ agent_id: AGENT }, master.generateKey());
    expect([other.status, other.json]).to.deep.equal([
      403,
      { status: 'error', message: 'API key mismatch for agent.' },
    ]);
    const fresh = await register({});
    expect((fresh.json as { agent_id: string }).agent_id).to.match(UUID);
    expect((await register({}, 'nope')).json).to.deep.equal({
      status: 'error',
      message: 'Missing or invalid Authorization header.',
    });
  });

  it('answers 202 to any event type, 400 to {} and bad JSON, 404 to an unknown agent', async () => {
    await register({ agent_id: AGENT });
    for (const type of ['container_die', 'heartbeat', 'whatever']) {
      const res = await post(AGENT, { type, timestamp: '2026-01-15T09:30:00.000000+00:00' });
      expect([res.status, res.json]).to.deep.equal([
        202,
        { status: 'success', message: 'Event received and processed.' },
      ]);
    }
    expect(await post(AGENT, {}))
      .to.include({ status: 400 })
      .and.have.nested.property('json.message', 'Empty payload.');
    expect(
      (await req('POST', agentPaths.events(AGENT), { raw: '{nope', headers: { 'content-type': 'application/json' } }))
        .status,
    ).to.equal(400);
    expect((await post('00000000-0000-4000-8000-000000000000', { type: 'heartbeat' })).status).to.equal(404);
    expect(master.acceptedEvents(AGENT)).to.have.lengthOf(3);
  });

  it('treats every status report as complete: whatever is missing is scheduled for deletion', async () => {
    await register({ agent_id: AGENT });
    await post(AGENT, { type: 'container_start', container: managed(ID_A) });
    await post(AGENT, { type: 'container_start', container: managed(ID_B) });
    await post(AGENT, { type: 'status_report', container: { containers: [managed(ID_A)] } });
    const states = (): string[] => [...master.agent(AGENT)!.containers.values()].map((c) => c.state);
    expect(states()).to.deep.equal(['active', 'pending_deletion']);
    await post(AGENT, { type: 'status_report', container: { containers: [] } });
    expect(states()).to.deep.equal(['pending_deletion', 'pending_deletion']);
  });
});
