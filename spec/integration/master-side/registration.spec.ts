import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { useSpecSession } from '../../helpers/spec-session.js';

type Body = Record<string, unknown>;
const body = (r: { body: unknown }): Body => (r.body ?? {}) as Body;

describe('master side: registration', () => {
  const harness = useSpecSession();

  it('v2: registers, stores the id without a newline, and sends heartbeats and reports with session and sequences', async () => {
    const master = await harness.master();
    const agent = await harness.agent();
    const id = await agent.registered();
    expect(await readFile(path.join(agent.dataDir, 'agent_id.txt'), 'utf8')).to.equal(id);
    const reg = master.requests.find((r) => r.endpoint === 'register')!;
    expect(body(reg)).to.deep.include({
      supported_protocol_versions: [2, 1],
      display_name: 'dockflare-agent',
      version: '2.0.0-test',
      agent_version: '2.0.0-test',
    });
    expect(reg.headers.authorization).to.match(/^Bearer \S{43}$/);
    const beats = await master.waitForCount(
      (r) => r.endpoint === 'events' && body(r).type === 'heartbeat' && r.status === 202,
      2,
      8000,
    );
    const session = master.agent(id)!.sessionId;
    for (const b of beats) expect(body(b)).to.include({ protocol_version: 2, agent_session_id: session });
    const seqs = master.requests
      .filter((r) => r.endpoint === 'events' && body(r).type !== 'status_report')
      .map((r) => body(r).event_sequence as number);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).to.equal(seqs.length);
    const health = body(beats[0]!).health as Record<string, unknown>;
    expect(health.actors).to.have.keys([
      'root',
      'registration',
      'workers',
      'tunnel-keeper',
      'event-watcher',
      'command-poller',
      'reporter',
    ]);
    expect(JSON.stringify(health).length).to.be.below(2048);
    const report = await master.waitFor((r) => body(r).type === 'status_report' && r.status === 200);
    expect(body(report)).to.include({
      inventory_complete: true,
      inventory_scope: 'dockflare_enabled_running',
      report_sequence: body(report).report_sequence,
    });
  });

  it('v1 master: falls back to protocol 1 (no session, no sequence, nested report)', async () => {
    const master = await harness.master({ mode: 'v1' });
    const agent = await harness.agent({ env: { AGENT_DISPLAY_NAME: 'nas-01' } });
    const id = await agent.registered();
    expect(agent.sink.events('registered')[0]).to.include({ protocolVersion: 1 });
    const beat = await master.waitFor((r) => body(r).type === 'heartbeat' && r.status === 202);
    expect(body(beat)).not.to.have.any.keys('protocol_version', 'agent_session_id', 'event_sequence');
    const report = await master.waitFor((r) => body(r).type === 'status_report' && r.status === 202);
    expect(body(report).container).to.have.property('containers');
    expect(master.agent(id)!.displayName).to.equal('nas-01');
  });

  it('registers with the stored id and the agent-<id> display name', async () => {
    const master = await harness.master({ mode: 'v1' });
    const dataDir = await harness.tempDir('dfa-reg-');
    await writeFile(path.join(dataDir, 'agent_id.txt'), '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12\n');
    const agent = await harness.agent({ dataDir });
    expect(await agent.registered()).to.equal('3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12');
    expect(body(master.requests[0]!)).to.include({
      agent_id: '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12',
      display_name: 'agent-3f1c2a9e',
    });
  });

  it('v2 master hands an unbound key a new id: the agent stores it and warns with both ids', async () => {
    await harness.master();
    const dataDir = await harness.tempDir('dfa-reg-');
    await writeFile(path.join(dataDir, 'agent_id.txt'), 'old-id-0000');
    const agent = await harness.agent({ dataDir });
    const id = await agent.registered();
    expect(id).not.to.equal('old-id-0000');
    expect(agent.sink.events('agent_id_changed')[0]).to.include({ previousId: 'old-id-0000', agentId: id, level: 40 });
    expect(await readFile(path.join(dataDir, 'agent_id.txt'), 'utf8')).to.equal(id);
  });

  it('401: one clear error line naming the key variable, a slow retry, no crash', async () => {
    const master = await harness.master();
    const agent = await harness.agent({ key: 'not-a-key-the-master-knows-aaaaaaaaaaaaaaaaa' });
    await master.waitForCount((r) => r.endpoint === 'register', 3, 10_000);
    const errors = agent.sink.records.filter((r) => r.event === 'registration_failed' && r.level >= 50);
    expect(errors).to.have.length(1);
    expect(errors[0]!.hint).to.include('DOCKFLARE_API_KEY');
    const times = master.requests.filter((r) => r.endpoint === 'register').map((r) => r.at);
    expect(times[2]! - times[1]!).to.be.at.least(1800);
    expect(agent.sink.events('actor_crashed')).to.be.empty;
    expect(agent.sink.lines.join('\n')).not.to.include('not-a-key-the-master-knows');
  });

  it('403: the key is bound to another agent: an error naming the stored id, slow retry', async () => {
    const master = await harness.master();
    const key = master.generateKey();
    const first = await harness.agent({ key });
    await first.registered();
    await first.stop();
    const dataDir = await harness.tempDir('dfa-reg-');
    await writeFile(path.join(dataDir, 'agent_id.txt'), 'someone-else-1234');
    const agent = await harness.agent({ key, dataDir });
    await master.waitForCount((r) => r.endpoint === 'register' && r.status === 403, 2, 10_000);
    const errors = agent.sink.records.filter((r) => r.event === 'registration_failed' && r.level >= 50);
    expect(errors).to.have.length(1);
    expect(errors[0]!.storedId).to.equal('someone-else-1234');
    expect(await readFile(path.join(dataDir, 'agent_id.txt'), 'utf8')).to.equal('someone-else-1234');
  });
});
