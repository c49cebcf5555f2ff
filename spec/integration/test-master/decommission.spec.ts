import { expect } from 'chai';
import { agentPaths, type TestMaster } from '../../master/index.js';
import { ADMIN, masterCalls } from '../../helpers/master-calls.js';

/** The test master's decommission operation over real HTTP, as the v3.1.4-line master answers it. */
describe('spec/master: the test master, decommission', () => {
  let master!: TestMaster;
  let key!: string;
  const { start, register, registerV2, poll, post, admin, req } = masterCalls({
    get: () => ({ master, key }),
    set: (m, k) => {
      master = m;
      key = k;
    },
  });

  let id: string;
  let session: string;
  const durable = async (): Promise<Record<string, unknown> | undefined> => {
    const commands = ((await poll(id)).json as { commands: Record<string, unknown>[] }).commands;
    return commands.at(-1)?.action?.toString().endsWith('_decommission') ? commands.at(-1) : undefined;
  };
  const ack = (op: string, body: Record<string, unknown>, k = key) =>
    req('POST', agentPaths.ack(id, op), { key: k, body: { operation_id: op, agent_session_id: session, ...body } });
  const prepared = (cmd: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    ack(String(cmd.operation_id), {
      command_id: cmd.command_id,
      phase: 'prepared',
      tombstone_persisted: true,
      tunnel_container: 'stopped',
      cloudflared_image: 'cloudflare/cloudflared:2026.1.0',
      agent_image: null,
      self_stop_capability: 'manual',
      ...extra,
    });
  const begin = async (): Promise<{ op: string; cmd: Record<string, unknown> }> => {
    const started = await admin('POST', `/${id}/decommission`);
    expect(started.status).to.equal(202);
    const op = (started.json as { operation_id: string }).operation_id;
    return { op, cmd: (await durable())! };
  };

  beforeEach(async () => {
    await start('v2');
    ({ id, session } = await registerV2());
  });

  it('keeps the capabilities of the last registration only, bounded as the master bounds them', async () => {
    await register({ supported_protocol_versions: [2, 1], capabilities: ['decommission.v1', 'x'.repeat(65), 7] });
    expect(master.agent(id)!.capabilities).to.deep.equal(['decommission.v1']);
    await register({ supported_protocol_versions: [2, 1] });
    expect(master.agent(id)!.capabilities).to.deep.equal([]);
  });

  it('serves the prepare command last on every poll until it is acknowledged, and `remove` is an alias', async () => {
    const alias = await admin('POST', `/${id}/remove`);
    expect(alias.status).to.equal(202);
    const again = await admin('POST', `/${id}/decommission`);
    expect((again.json as { operation_id: string }).operation_id, 'one operation').to.equal(
      (alias.json as { operation_id: string }).operation_id,
    );
    const first = await durable();
    const second = await durable();
    expect(first).to.include({ action: 'prepare_decommission', requested_self_action: 'stop', protocol_version: 1 });
    expect(second).to.deep.equal(first);
    expect((await admin('POST', `/${id}/roll-key`)).status, 'changes refused meanwhile').to.equal(409);
  });

  it('answers events with 409 agent_decommissioning after the key checks and before the session check', async () => {
    await begin();
    const stale = await post(id, {
      type: 'heartbeat',
      protocol_version: 2,
      agent_session_id: 'old',
      event_sequence: 1,
    });
    expect(stale.status).to.equal(409);
    expect(stale.json).to.include({ code: 'agent_decommissioning' });
    expect((await post(id, {}, master.generateKey())).status, 'a foreign key is still 403').to.equal(403);
  });

  it('checks an acknowledgement in the master order', async () => {
    const { op, cmd } = await begin();
    expect((await req('POST', agentPaths.ack(id, op), { key: undefined, body: {} })).status, 'no bearer').to.equal(401);
    expect(
      (await req('POST', agentPaths.ack(id, op), { raw: '[1]', headers: { 'content-type': 'application/json' } }))
        .status,
    ).to.equal(400);
    expect((await ack(op, { command_id: cmd.command_id }, 'unknown-key')).status).to.equal(401);
    expect((await ack(op, { command_id: cmd.command_id, agent_session_id: 'old' })).json).to.include({
      code: 'registration_required',
    });
    expect((await ack('no-such-op', { command_id: cmd.command_id })).json).to.include({ code: 'operation_not_found' });
    expect((await ack(op, { command_id: '' })).json).to.include({ code: 'invalid_payload' });
    expect((await ack(op, { command_id: 'other' })).json).to.include({ code: 'stale_command' });
    expect((await ack(op, { command_id: cmd.command_id, operation_id: 'x' })).json).to.include({
      code: 'stale_operation',
    });
    expect((await ack(op, { command_id: cmd.command_id, phase: 'done' })).json).to.include({
      code: 'invalid_ack_phase',
    });
    expect((await ack(op, { command_id: cmd.command_id, phase: 'shutdown_scheduled' })).json).to.include({
      code: 'invalid_operation_state',
    });
    expect((await prepared(cmd, { cloudflared_image: '-bad image' })).json).to.include({
      code: 'invalid_image_reference',
    });
    expect((await prepared(cmd, { self_stop_capability: 'supported' })).json, 'agent_image required').to.include({
      code: 'invalid_image_reference',
    });
  });

  it('records a reported failure, serves the same command again, and accepts it later', async () => {
    const { op, cmd } = await begin();
    const failed = await prepared(cmd, {
      tombstone_persisted: false,
      tunnel_container: 'failed',
      error_code: 'tombstone_persistence_failed',
    });
    expect(failed.status).to.equal(409);
    expect(failed.json).to.include({ code: 'tombstone_persistence_failed' });
    expect(master.decommissions.require(op).state).to.equal('prepare_failed');
    expect(await durable()).to.deep.equal(cmd);
    expect((await prepared(cmd)).status).to.equal(200);
  });

  it('runs the whole operation: prepared, finalize served, key revoked and record deleted, repeats answered 200', async () => {
    const { op, cmd } = await begin();
    const ok = await prepared(cmd);
    expect(ok.status).to.equal(200);
    expect(ok.json).to.include({ code: 'acknowledged' });
    expect(master.decommissions.require(op).state).to.equal('waiting_for_finalize');
    const fin = (await durable())!;
    expect(fin).to.include({ action: 'finalize_decommission', operation_id: op });
    expect((await prepared(cmd)).status, 'an acknowledged id again').to.equal(200);
    const done = await ack(op, {
      command_id: fin.command_id,
      phase: 'shutdown_scheduled',
      self_stop_capability: 'manual',
    });
    expect(done.status).to.equal(200);
    expect(master.decommissions.require(op)).to.include({ state: 'completed', agentContainer: 'manual_required' });
    expect(master.agent(id)).to.equal(undefined);
    expect(master.keyStatus(key)).to.equal('revoked');
    expect((await poll(id)).status, 'the key is revoked').to.equal(401);
    const repeat = await ack(op, { command_id: fin.command_id, phase: 'shutdown_scheduled' });
    expect(repeat.status, 'a lost final reply can be asked again').to.equal(200);
    expect((await ack(op, { command_id: 'never-acked' })).status).to.equal(403);
  });

  it('times out without forcing, accepts a late acknowledgement, and retries with a new command id', async () => {
    const { op, cmd } = await begin();
    master.decommissions.timeOut(op);
    expect(master.decommissions.require(op)).to.include({ state: 'timed_out', lastErrorCode: 'agent_timeout' });
    expect(await durable(), 'still served').to.deep.equal(cmd);
    const retried = await req('POST', `/api/v2/agent-decommissions/${op}/retry`, { key: ADMIN });
    expect(retried.status).to.equal(202);
    const fresh = (await durable())!;
    expect(fresh.command_id).not.to.equal(cmd.command_id);
    expect(fresh).not.to.have.property('expected_tunnel_id');
    expect((await prepared(fresh)).status).to.equal(200);
  });

  it('Force revokes the key and deletes the record, and a terminal operation is returned unchanged', async () => {
    const { op } = await begin();
    const forced = await req('POST', `/api/v2/agent-decommissions/${op}/force`, { key: ADMIN });
    expect(forced.status).to.equal(200);
    expect((forced.json as { operation: Record<string, unknown> }).operation).to.include({
      state: 'forced_completed',
      remote_host_cleanup_required: true,
    });
    expect(master.keyStatus(key)).to.equal('revoked');
    expect(master.agent(id)).to.equal(undefined);
    expect((await req('POST', `/api/v2/agent-decommissions/${op}/force`, { key: ADMIN })).status).to.equal(200);
    expect((await req('POST', `/api/v2/agent-decommissions/${op}/retry`, { key: ADMIN })).json).to.include({
      code: 'operation_not_retryable',
    });
  });

  it('a failed clean-up keeps the acknowledgement and serves nothing until a retry', async () => {
    const { op, cmd } = await begin();
    master.decommissions.require(op).failCleanupWith = 'tunnel_sync_failed';
    const res = await prepared(cmd);
    expect(res.status).to.equal(409);
    expect(res.json).to.include({ code: 'tunnel_sync_failed' });
    expect(await durable()).to.equal(undefined);
    master.decommissions.require(op).failCleanupWith = null;
    expect((await req('POST', `/api/v2/agent-decommissions/${op}/retry`, { key: ADMIN })).status).to.equal(202);
    expect(await durable()).to.include({ action: 'finalize_decommission' });
  });
});
