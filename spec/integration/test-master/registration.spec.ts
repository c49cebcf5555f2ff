import { expect } from 'chai';
import { agentPaths, call, type TestMaster } from '../../master/index.js';
import { ID_A, ID_B, UUID, managed, masterCalls } from '../../helpers/master-calls.js';

describe('spec/master: the test master, v2 registration', () => {
  let master!: TestMaster;
  let key!: string;
  const { start, req, register, registerV2, post } = masterCalls({
    get: () => ({ master, key }),
    set: (m, k) => {
      master = m;
      key = k;
    },
  });

  beforeEach(async () => {
    await start('v2');
  });

  it('creates a record (201) with a new id and session, then refreshes it (200) with a new session', async () => {
    const first = await register({ supported_protocol_versions: [2, 1] });
    expect(first.status).to.equal(201);
    const body = first.json as Record<string, unknown>;
    expect(body).to.include({ status: 'success', code: 'registered', protocol_version: 2 });
    expect(body.agent_id).to.match(UUID);
    expect(body.agent_session_id).to.be.a('string').with.lengthOf(43);
    const again = await register({
      supported_protocol_versions: [2, 1],
      agent_id: body.agent_id,
      display_name: 'renamed',
    });
    expect(again.status).to.equal(200);
    expect(again.json).to.include({ agent_id: body.agent_id, protocol_version: 2 });
    expect((again.json as Record<string, unknown>).agent_session_id).not.to.equal(body.agent_session_id);
    const rec = master.agent(body.agent_id as string)!;
    expect(rec).to.include({ status: 'pending', displayName: 'renamed', version: '2.0.0', key, protocolVersion: 2 });
    expect(rec.lastSeen).to.be.a('number');
    expect(master.requests.map((r) => [r.endpoint, r.agentId, r.status])).to.deep.equal([
      ['register', body.agent_id, 201],
      ['register', body.agent_id, 200],
    ]);
  });

  it('gives an unbound key a fresh id even when an agent_id is proposed', async () => {
    const res = await register({
      supported_protocol_versions: [2, 1],
      agent_id: '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12',
    });
    expect(res.status).to.equal(201);
    const id = (res.json as { agent_id: string }).agent_id;
    expect(id).to.match(UUID).and.not.equal('3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12');
    expect(master.agents().map((a) => a.agentId)).to.deep.equal([id]);
  });

  it('answers 403 agent_key_mismatch when a bound key proposes another id, or its record was removed', async () => {
    const { id } = await registerV2();
    const other = await register({
      supported_protocol_versions: [2, 1],
      agent_id: '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12',
    });
    expect(other.status).to.equal(403);
    expect(other.json).to.include({ status: 'error', code: 'agent_key_mismatch' });
    master.removeAgent(id);
    const removed = await register({ supported_protocol_versions: [2, 1] });
    expect(removed.status).to.equal(403);
    expect(master.agents()).to.be.empty;
  });

  it('falls back to v1 semantics without supported_protocol_versions', async () => {
    const res = await register({});
    expect(res.status).to.equal(201);
    expect(res.json).to.include({
      status: 'success',
      code: 'registered',
      protocol_version: 1,
      agent_session_id: null,
    });
    const id = (res.json as { agent_id: string }).agent_id;
    expect(master.agent(id)).to.include({ protocolVersion: 1, sessionId: null, displayName: 'nas-01' });
    // Its events take the legacy path: no session or sequence, the closed type set, and reports never delete.
    expect((await post(id, { type: 'heartbeat' })).json).to.deep.equal({ status: 'success', code: 'accepted_noop' });
    expect((await post(id, { type: 'container_start', container: managed(ID_B) })).status).to.equal(200);
    const v1Report = await post(id, { type: 'status_report', container: { containers: [managed(ID_A)] } });
    expect([v1Report.status, (v1Report.json as { code: string }).code]).to.deep.equal([202, 'inventory_incomplete']);
    expect([...master.agent(id)!.containers.values()].map((c) => c.state)).to.deep.equal(['active', 'active']);
    expect((await post(id, { type: 'container_die', container: managed(ID_A) })).status).to.equal(400);
  });

  it('rejects malformed supported_protocol_versions with 400 and a disjoint offer with 409', async () => {
    for (const bad of [[], [true], [0], [1.5], '2', [2, '1']]) {
      const res = await register({ supported_protocol_versions: bad });
      expect(res.status, JSON.stringify(bad)).to.equal(400);
      expect(res.json).to.include({ code: 'invalid_payload' });
    }
    const disjoint = await register({ supported_protocol_versions: [3, 4] });
    expect(disjoint.status).to.equal(409);
    expect(disjoint.json).to.include({ code: 'unsupported_protocol' });
    const notObject = await req('POST', agentPaths.register, {
      raw: '[1]',
      headers: { 'content-type': 'application/json' },
    });
    expect(notObject.status).to.equal(400);
    expect(master.agents()).to.be.empty;
  });

  it('answers 401 unauthorized to unknown and revoked keys and to malformed headers', async () => {
    expect((await register({}, 'not-a-key')).json).to.include({ status: 'error', code: 'unauthorized' });
    const lower = await call(master.url, 'POST', agentPaths.register, {
      headers: { authorization: `bearer   ${key}` },
      body: {},
    });
    expect(lower.status).to.equal(201);
    for (const authorization of [`Token ${key}`, `Bearer ${key} extra`, key]) {
      expect(
        (await call(master.url, 'POST', agentPaths.register, { headers: { authorization }, body: {} })).status,
        authorization,
      ).to.equal(401);
    }
    master.revokeKey(key);
    expect((await register({})).status).to.equal(401);
    expect((await call(master.url, 'POST', agentPaths.register, { body: {} })).status).to.equal(401);
  });
});
