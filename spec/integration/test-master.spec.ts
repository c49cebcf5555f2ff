import net from 'node:net';
import { expect } from 'chai';
import {
  TestMaster,
  agentPaths,
  call,
  type CallOptions,
  type HttpResult,
  type MasterMode,
  type TestMasterOptions,
} from '../master/index.js';

const ADMIN = 'test-master-admin-key';
const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const managed = (id: string, extra: Record<string, string> = {}): Record<string, unknown> => ({
  id,
  name: `web-${id.slice(0, 4)}`,
  status: 'running',
  labels: { 'dockflare.enable': 'true', 'dockflare.hostname': 'web.example.com', ...extra },
});

describe('spec/master: the test master', () => {
  let master: TestMaster;
  let key: string;
  const start = async (mode: MasterMode, opts: Omit<TestMasterOptions, 'mode'> = {}): Promise<void> => {
    master = await TestMaster.start({ mode, ...opts });
    key = master.generateKey('spec');
  };
  const req = (method: string, path: string, opts: CallOptions = {}): Promise<HttpResult> =>
    call(master.url, method, path, { key, ...opts });
  const register = (body: Record<string, unknown> = {}, k = key): Promise<HttpResult> =>
    req('POST', agentPaths.register, { key: k, body: { display_name: 'nas-01', version: '2.0.0', ...body } });
  const registerV2 = async (): Promise<{ id: string; session: string }> => {
    const res = await register({ supported_protocol_versions: [2, 1] });
    const body = res.json as { agent_id: string; agent_session_id: string };
    return { id: body.agent_id, session: body.agent_session_id };
  };
  const poll = (id: string, k = key): Promise<HttpResult> => req('GET', agentPaths.commands(id), { key: k });
  const post = (id: string, body: unknown, k = key): Promise<HttpResult> =>
    req('POST', agentPaths.events(id), { key: k, body });
  const admin = (method: string, path: string, body?: unknown, k = ADMIN): Promise<HttpResult> =>
    call(master.url, method, `/api/v2/agents${path}`, { key: k, body });

  afterEach(async () => {
    await master.stop();
  });

  describe('v2 registration', () => {
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

  describe('commands', () => {
    for (const mode of ['v1', 'v2'] as const) {
      it(`${mode}: delivers the queue once, clears it on read and answers 404 for an unknown agent`, async () => {
        await start(mode);
        const id = (await register({ agent_id: '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12' })).json as { agent_id: string };
        master.queueCommand(id.agent_id, { action: 'stop_tunnel' });
        master.queueCommand(id.agent_id, { action: 'update_tunnel_config', rules: {} });
        const first = await poll(id.agent_id);
        expect(first.status).to.equal(200);
        expect(first.json).to.deep.equal({
          status: 'success',
          commands: [{ action: 'stop_tunnel' }, { action: 'update_tunnel_config', rules: {} }],
        });
        expect((await poll(id.agent_id)).json).to.deep.equal({ status: 'success', commands: [] });
        const unknown = await poll('00000000-0000-4000-8000-000000000000');
        expect(unknown.status).to.equal(404);
        expect(unknown.json).to.deep.equal({ status: 'error', message: 'Agent not found.' });
        expect((await poll(id.agent_id, master.generateKey())).status).to.equal(403);
      });
    }
  });

  describe('v2 events', () => {
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

  describe('v1 mode', () => {
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

  describe('faults', () => {
    let id: string;
    beforeEach(async () => {
      await start('v2', { maxRequestBytes: 1024 });
      ({ id } = await registerV2());
      master.queueCommand(id, { action: 'stop_tunnel' });
    });

    it('answers a status fault with its body and Retry-After, applies nothing, and expires after `times`', async () => {
      master.addFault({ endpoint: 'commands', fault: { kind: 'status', status: 503, retryAfterSeconds: 7 }, times: 1 });
      const outage = await poll(id);
      expect([outage.status, outage.headers.get('retry-after'), outage.json]).to.deep.equal([
        503,
        '7',
        { status: 'error', code: 'persistence_failed', message: 'Could not persist agent state.' },
      ]);
      expect((await poll(id)).json).to.deep.equal({ status: 'success', commands: [{ action: 'stop_tunnel' }] });
      master.addFault({ fault: { kind: 'status', status: 429, body: { slow: 'down' } } });
      expect([(await poll(id)).json, (await register()).status]).to.deep.equal([{ slow: 'down' }, 429]);
      master.clearFaults();
      expect((await poll(id)).status).to.equal(200);
    });

    it('drop: the client sees a network error, nothing is applied, and the request is recorded with status 0', async () => {
      master.addFault({ endpoint: 'commands', fault: { kind: 'drop' }, times: 1 });
      let failure: unknown;
      try {
        await poll(id);
      } catch (err) {
        failure = err;
      }
      expect(failure).to.be.instanceOf(Error);
      expect((await master.waitFor((r) => r.endpoint === 'commands', 2000)).status).to.equal(0);
      expect(master.agent(id)!.commands).to.deep.equal([{ action: 'stop_tunnel' }]);
    });

    it('drop-after-apply on commands loses the queue: the poll fails and the next one is empty', async () => {
      master.addFault({ endpoint: 'commands', fault: { kind: 'drop-after-apply' }, times: 1 });
      let failed = false;
      try {
        await poll(id);
      } catch {
        failed = true;
      }
      expect(failed).to.equal(true);
      const rec = await master.waitFor((r) => r.endpoint === 'commands', 2000);
      expect([rec.status, rec.response]).to.deep.equal([
        0,
        { status: 'success', commands: [{ action: 'stop_tunnel' }] },
      ]);
      expect((await poll(id)).json).to.deep.equal({ status: 'success', commands: [] });
      expect(master.requests.filter((r) => r.endpoint === 'commands').map((r) => r.status)).to.deep.equal([0, 200]);
    });

    it('slow: a client that times out gets nothing (the poll is applied anyway); a patient one gets the reply late', async () => {
      master.addFault({ endpoint: 'commands', fault: { kind: 'slow', delayMs: 300 }, times: 2 });
      let aborted = false;
      try {
        await call(master.url, 'GET', agentPaths.commands(id), { key, timeoutMs: 100 });
      } catch {
        aborted = true;
      }
      expect(aborted).to.equal(true);
      const late = await master.waitFor((r) => r.endpoint === 'commands', 2000);
      expect([late.status, late.response]).to.deep.equal([
        0,
        { status: 'success', commands: [{ action: 'stop_tunnel' }] },
      ]);
      expect(master.agent(id)!.commands).to.deep.equal([]);
      master.queueCommand(id, { action: 'start_tunnel' });
      const t0 = Date.now();
      expect((await poll(id)).json).to.deep.equal({ status: 'success', commands: [{ action: 'start_tunnel' }] });
      expect(Date.now() - t0).to.be.at.least(280);
    });

    it('stop() cancels a pending slow reply promptly and records it with status 0', async () => {
      master.addFault({ endpoint: 'commands', fault: { kind: 'slow', delayMs: 60_000 } });
      const pending = poll(id).then(
        () => 'answered',
        () => 'failed',
      );
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      await master.stop();
      await master.stop();
      expect(Date.now() - t0).to.be.below(1000);
      expect(await pending).to.equal('failed');
      expect(master.requests.at(-1)).to.include({ endpoint: 'commands', status: 0 });
      expect(master.agent(id)!.commands).to.have.lengthOf(1);
    });

    it('malformed, html, huge and wrong-types bodies come back with 200', async () => {
      master.addFault({ fault: { kind: 'malformed' }, times: 1 });
      master.addFault({ fault: { kind: 'html' }, times: 1 });
      master.addFault({ fault: { kind: 'huge', bytes: 200_000 }, times: 1 });
      master.addFault({ endpoint: 'commands', fault: { kind: 'wrong-types' }, times: 1 });
      const malformed = await poll(id);
      expect([malformed.status, malformed.json]).to.deep.equal([200, undefined]);
      const html = await poll(id);
      expect([html.status, html.json]).to.deep.equal([200, undefined]);
      expect(html.headers.get('content-type')).to.match(/^text\/html/);
      expect(html.text).to.include('<form');
      const huge = await poll(id);
      expect([huge.text.length, (huge.json as { status: string }).status]).to.deep.equal([200_000, 'success']);
      expect((await poll(id)).json).to.deep.equal({ status: 'success', commands: 'x' });
      expect(master.agent(id)!.commands).to.have.lengthOf(1);
    });

    it('matches eventType, and answers oversized bodies with 413 payload_too_large', async () => {
      master.addFault({ endpoint: 'events', eventType: 'status_report', fault: { kind: 'status', status: 500 } });
      const { session } = await registerV2();
      const env = { protocol_version: 2, agent_session_id: session };
      expect((await post(id, { ...env, type: 'heartbeat', event_sequence: 1 })).status).to.equal(202);
      expect(
        (await post(id, { ...env, type: 'status_report', report_sequence: 1, inventory_complete: false })).json,
      ).to.include({ code: 'processing_failed' });
      const big = await post(id, { ...env, type: 'heartbeat', event_sequence: 2, pad: 'x'.repeat(2000) });
      expect([big.status, (big.json as { code: string }).code]).to.deep.equal([413, 'payload_too_large']);
      expect((await post(id, { ...env, type: 'heartbeat', event_sequence: 2 })).status).to.equal(202);
    });
  });

  describe('hostile input and admin routes', () => {
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

    it('roll-key revokes the old key at once; remove leaves 404 on commands and 403 on events and registration', async () => {
      const { id, session } = await registerV2();
      const rolled = await admin('POST', `/${id}/roll-key`);
      const newKey = (rolled.json as { key: string }).key;
      expect((await poll(id)).status).to.equal(401);
      expect((await poll(id, newKey)).status).to.equal(200);
      expect((await admin('POST', `/${id}/remove`)).status).to.equal(200);
      expect((await poll(id, newKey)).status).to.equal(404);
      expect(
        (
          await post(
            id,
            { type: 'heartbeat', protocol_version: 2, agent_session_id: session, event_sequence: 1 },
            newKey,
          )
        ).status,
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
      expect(message).to.match(
        /timed out after 50 ms waiting for an event .*#1 POST \/api\/v2\/agents\/register → 201/,
      );
      expect(await master.waitForCount((r) => r.endpoint === 'register', 1, 100)).to.have.lengthOf(1);
    });
  });
});
