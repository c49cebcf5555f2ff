import net from 'node:net';
import { expect } from 'chai';
import { agentPaths, type TestMaster } from '../../master/index.js';
import { UUID, masterCalls } from '../../helpers/master-calls.js';

describe('spec/master: the test master, hostile input and admin routes', () => {
  let master!: TestMaster;
  let key!: string;
  const { start, req, register, registerV2, poll, post, admin } = masterCalls({
    get: () => ({ master, key }),
    set: (m, k) => {
      master = m;
      key = k;
    },
  });

  beforeEach(async () => {
    await start('v2');
  });

  it('answers wrong methods, unknown paths, bad JSON and raw garbage without falling over', async () => {
    const wrong = await req('GET', agentPaths.register);
    expect([wrong.status, wrong.headers.get('allow')]).to.deep.equal([405, 'POST']);
    expect((await req('DELETE', agentPaths.commands('x'))).status).to.equal(405);
    expect((await req('GET', '/api/v2/nothing')).status).to.equal(404);
    expect(
      (await req('POST', agentPaths.register, { raw: '{"a":', headers: { 'content-type': 'application/json' } }))
        .status,
    ).to.equal(400);
    expect(
      (await req('POST', agentPaths.register, { raw: '{}', headers: { 'content-type': 'text/plain' } })).status,
    ).to.equal(415);
    expect(
      (
        await req('POST', agentPaths.register, {
          raw: '['.repeat(100_000),
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).to.equal(413);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(new URL(master.url).port), '127.0.0.1', () => {
        socket.end('\x00\x01 NOT HTTP\r\n\r\n');
      });
      socket.on('close', () => {
        resolve();
      });
      socket.on('error', reject);
      socket.setTimeout(2000, () => {
        socket.destroy(new Error('garbage connection stayed open'));
      });
    });
    expect((await register({ supported_protocol_versions: [2] })).status).to.equal(201);
  });

  it('requires the master key on admin routes and never lists keys or tokens', async () => {
    expect((await admin('GET', '')).status).to.equal(200);
    for (const k of [key, 'wrong'])
      expect((await admin('POST', '/generate-key', {}, k)).json).to.deep.equal({
        status: 'error',
        message: 'unauthorized',
      });
    const gen = await admin('POST', '/generate-key', { owner: 'ops' });
    expect(gen.status).to.equal(201);
    const newKey = (gen.json as { key: string }).key;
    expect(newKey).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(gen.json).to.have.nested.property('meta.owner', 'ops');
    const { id } = await registerV2();
    master.enroll(id, 'nas-01-tunnel');
    const listed = await admin('GET', '');
    expect(listed.text).not.to.include(key).and.not.to.include(master.agent(id)!.tunnel!.token);
    expect(listed.json).to.have.nested.property('agents[0].agent_id', id);
    expect((await admin('POST', '/revoke-key', { key: newKey })).status).to.equal(200);
    expect((await register({}, newKey)).status).to.equal(401);
  });

  it('creates agents enrolled when enrolment is not required, and honours a custom master key', async () => {
    await master.stop();
    await start('v2', { enrollmentRequired: false, masterKey: 'other-admin' });
    const { id } = await registerV2();
    expect(master.agent(id)).to.include({ status: 'enrolled', tunnel: null });
    expect(master.agent(id)!.commands).to.deep.equal([]);
    expect((await admin('GET', '')).status).to.equal(401);
    expect((await admin('GET', '', undefined, 'other-admin')).status).to.equal(200);
  });

  it('enroll queues start_tunnel with `token`, redeploy queues restart_tunnel with `tunnel_token`', async () => {
    const { id } = await registerV2();
    expect((await admin('POST', `/${id}/redeploy-tunnel`)).status).to.equal(409);
    const enrolled = await admin('POST', `/${id}/enroll`, { tunnel_name: 'nas-01-tunnel' });
    expect(enrolled.status).to.equal(200);
    const { tunnel } = master.agent(id)!;
    expect(tunnel!.id).to.match(UUID);
    expect((await admin('POST', `/${id}/redeploy-tunnel`)).status).to.equal(200);
    expect((await poll(id)).json).to.deep.equal({
      status: 'success',
      commands: [
        { action: 'start_tunnel', tunnel_name: 'nas-01-tunnel', tunnel_id: tunnel!.id, token: tunnel!.token },
        {
          action: 'restart_tunnel',
          tunnel_name: 'nas-01-tunnel',
          tunnel_id: tunnel!.id,
          tunnel_token: tunnel!.token,
        },
      ],
    });
    expect(master.agent(id)!.status).to.equal('enrolled');
  });

  it('roll-key revokes the old key at once; a deleted record leaves 404 on commands and 403 on events and registration', async () => {
    const { id, session } = await registerV2();
    const rolled = await admin('POST', `/${id}/roll-key`);
    const newKey = (rolled.json as { key: string }).key;
    expect((await poll(id)).status).to.equal(401);
    expect((await poll(id, newKey)).status).to.equal(200);
    // Deleted as masters before the v3.1.4 line did on `remove` (that is now a decommission: see decommission.spec).
    master.removeAgent(id);
    expect((await poll(id, newKey)).status).to.equal(404);
    expect(
      (await post(id, { type: 'heartbeat', protocol_version: 2, agent_session_id: session, event_sequence: 1 }, newKey))
        .status,
    ).to.equal(403);
    expect((await register({ supported_protocol_versions: [2, 1] }, newKey)).status).to.equal(403);
  });

  it('waitFor resolves on a future request and rejects with a readable message on timeout', async () => {
    const waiting = master.waitFor((r) => r.endpoint === 'register' && r.status === 201, 2000);
    await register({});
    expect((await waiting).seq).to.equal(1);
    let message = '';
    try {
      await master.waitFor((r) => r.endpoint === 'events', 50, 'an event');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/timed out after 50 ms waiting for an event .*#1 POST \/api\/v2\/agents\/register → 201/);
    expect(await master.waitForCount((r) => r.endpoint === 'register', 1, 100)).to.have.lengthOf(1);
  });
});
