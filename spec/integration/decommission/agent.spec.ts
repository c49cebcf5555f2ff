import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { InProcessAgent } from '../../helpers/agent-harness.js';
import { BUSYBOX_IMAGE, CLOUDFLARED_IMAGE } from '../../helpers/docker.js';
import { inspectOrNull, runLabelled, TUNNEL_CONTAINER } from '../../helpers/docker-fixtures.js';
import { readTunnelFile, useTunnelSession } from '../../helpers/tunnel-session.js';
import type { RecordedRequest, TestMaster } from '../../master/index.js';

const INFO = 30;
const isAck =
  (phase: string, status = 200) =>
  (r: RecordedRequest) =>
    r.endpoint === 'ack' && (r.body as { phase?: string } | undefined)?.phase === phase && r.status === status;

describe('decommission: a real agent against the test master and a real Docker Engine', function () {
  this.timeout(60_000);
  let master: TestMaster | undefined;
  let agent: InProcessAgent | undefined;
  const { docker, harness, startEnrolled } = useTunnelSession({
    get: () => ({ agent }),
    set: (m, a) => {
      master = m;
      agent = a;
    },
  });
  const tombstone = async (): Promise<Record<string, unknown>> =>
    JSON.parse(await readFile(path.join(agent!.dataDir, 'decommission.json'), 'utf8')) as Record<string, unknown>;

  it('end to end: prepared (tunnel stopped, kept), finalized (token gone, key revoked), the process ends itself', async () => {
    const { agentId, token } = await startEnrolled();
    expect(master!.agent(agentId)!.capabilities, 'no own container here').to.deep.equal([
      'decommission.v1',
      'tunnel_stop.v1',
    ]);
    const op = master!.decommissions.start(master!.agent(agentId)!).op;

    const prepared = await master!.waitFor(isAck('prepared'), 15_000, 'the prepared acknowledgement');
    expect(prepared.body).to.include({
      operation_id: op.operationId,
      tombstone_persisted: true,
      tunnel_container: 'stopped',
      cloudflared_image: CLOUDFLARED_IMAGE,
      self_stop_capability: 'manual',
      agent_image: null,
    });
    expect((prepared.body as Record<string, unknown>).agent_session_id).to.be.a('string');
    const container = await inspectOrNull(docker, TUNNEL_CONTAINER);
    expect(container, 'kept').not.to.equal(null);
    expect(container!.State.Running, 'stopped').to.equal(false);
    expect(await tombstone()).to.include({ phase: 'prepared', operation_id: op.operationId, agent_id: agentId });
    expect((await stat(path.join(agent!.dataDir, 'decommission.json'))).mode & 0o777).to.equal(0o600);
    expect(await readFile(path.join(agent!.dataDir, 'decommission.json'), 'utf8')).not.to.include(token);
    expect(await readTunnelFile(agent!.dataDir)).to.include({ desired_state: 'stopped', token });

    await master!.waitFor(isAck('shutdown_scheduled'), 15_000, 'the final acknowledgement');
    expect(await tombstone()).to.include({ phase: 'finalized' });
    expect(await readTunnelFile(agent!.dataDir)).to.deep.equal({
      token: null,
      id: null,
      name: null,
      desired_state: 'stopped',
    });
    expect(master!.decommissions.require(op.operationId).state).to.equal('completed');
    expect(await agent!.decommissionFinished, 'no container of its own: the process ends itself').to.equal(false);
    expect(agent!.sink.events('decommission_manual_stop')).to.have.length(1);
    const health = agent!.agent.healthReport();
    expect(health.httpStatus).to.equal(200);
    expect(health.body).to.include({ status: 'decommissioned', lifecycle: 'decommissioned' });

    // Nothing restarts the tunnel, and the shutdown (TUNNEL_REMOVE_ON_SHUTDOWN defaults to true) keeps it.
    await agent!.stop({ keepData: true });
    const after = await inspectOrNull(docker, TUNNEL_CONTAINER);
    expect(after?.State.Running).to.equal(false);
    expect(agent!.sink.records.filter((r) => r.level > INFO && r.event !== 'decommission_manual_stop')).to.deep.equal(
      [],
    );
  });

  it('stops (never removes) its own container after the final acknowledgement when it can identify it', async () => {
    // Named as any container, but the compose service of the agent: that and the id make it the agent's own.
    const self = await runLabelled(docker, { labels: { 'com.docker.compose.service': 'dockflare-agent' } });
    const m = await harness.master();
    const a = await harness.agent({ selfHostname: self.id.slice(0, 12) });
    master = m;
    agent = a;
    const agentId = await a.registered();
    expect(m.agent(agentId)!.capabilities).to.include('self_stop.v1');
    const op = m.decommissions.start(m.agent(agentId)!).op;
    const prepared = await m.waitFor(isAck('prepared'), 15_000, 'the prepared acknowledgement');
    expect(prepared.body).to.include({
      self_stop_capability: 'supported',
      agent_image: BUSYBOX_IMAGE,
      tunnel_container: 'absent',
    });
    await m.waitFor(isAck('shutdown_scheduled'), 15_000, 'the final acknowledgement');
    expect(m.decommissions.require(op.operationId).agentContainer).to.equal('stop_scheduled');
    expect(await a.decommissionFinished, 'its own container stopped').to.equal(true);
    const info = await inspectOrNull(docker, self.id);
    expect(info, 'kept').not.to.equal(null);
    expect(info!.State.Running, 'stopped').to.equal(false);
  });

  it('events refused with 409 agent_decommissioning are expected: one info line, no error, no loop', async () => {
    const m = await harness.master();
    const a = await harness.agent({ env: { COMMAND_POLL_INTERVAL_SECONDS: '5' } });
    master = m;
    agent = a;
    const agentId = await a.registered();
    await a.sink.waitFor((r) => r.event === 'status_report_sent' || r.event === 'event_delivered', 10_000);
    m.decommissions.start(m.agent(agentId)!).op;
    await m.waitFor((r) => r.endpoint === 'events' && r.status === 409, 10_000, 'a refused event');
    await m.waitFor(isAck('prepared'), 15_000, 'the prepared acknowledgement');
    const refusedBeforePrepare = m.requests.filter((r) => r.endpoint === 'events' && r.status === 409).length;
    await a.sink.waitFor((r) => r.event === 'decommission_acknowledged', 5000);
    const refused = m.requests.filter((r) => r.endpoint === 'events' && r.status === 409);
    expect(refused.length, 'the first refusal ends the sending: no retry loop').to.be.at.most(2);
    expect(refused.length).to.equal(refusedBeforePrepare);
    expect(
      a.sink.events('reporting_stopped').map((r) => r.level),
      'one info line',
    ).to.deep.equal([INFO]);
    expect(
      a.sink.records.filter((r) => r.level > INFO),
      'no warning or error line',
    ).to.deep.equal([]);
    const lastEvent = Math.max(...m.requests.filter((r) => r.endpoint === 'events').map((r) => r.seq));
    const prepared = m.requests.find(isAck('prepared'))!;
    expect(lastEvent, 'nothing reported after the refusal').to.be.below(prepared.seq);
  });

  it('a failed tombstone write is acknowledged with its code and done again when the master serves the command again', async () => {
    const m = await harness.master();
    const dataDir = await harness.tempDir('dfa-tomb-');
    const missing = path.join(dataDir, 'not-yet', 'decommission.json');
    const a = await harness.agent({ env: { DECOMMISSION_TOMBSTONE_PATH: missing } });
    master = m;
    agent = a;
    const agentId = await a.registered();
    const op = m.decommissions.start(m.agent(agentId)!).op;
    const failed = await m.waitFor(isAck('prepared', 409), 15_000, 'the failed acknowledgement');
    expect(failed.body).to.include({
      tombstone_persisted: false,
      tunnel_container: 'failed',
      error_code: 'tombstone_persistence_failed',
    });
    expect(m.decommissions.require(op.operationId).state).to.equal('prepare_failed');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.dirname(missing));
    const ok = await m.waitFor(isAck('prepared'), 15_000, 'the prepared acknowledgement');
    expect(ok.body).to.include({ command_id: failed.body && (failed.body as { command_id: string }).command_id });
  });

  it('restarted while prepared it registers and polls only: no tunnel restored, nothing reported, then finalizes', async () => {
    const { agentId } = await startEnrolled();
    const op = master!.decommissions.start(master!.agent(agentId)!).op;
    op.failCleanupWith = 'tunnel_sync_failed';
    await master!.waitFor((r) => r.endpoint === 'ack' && r.status === 409, 15_000, 'the refused clean-up');
    const dataDir = agent!.dataDir;
    await agent!.stop({ keepData: true });
    const seen = master!.requests.length;
    const again = await harness.agent({ dataDir, key: master!.agent(agentId)!.key! });
    agent = again;
    await again.registered();
    await again.sink.waitFor((r) => r.event === 'tunnel_not_restored', 10_000);
    op.failCleanupWith = null;
    expect(master!.decommissions.retry(op.operationId).ok).to.equal(true);
    await master!.waitFor(isAck('shutdown_scheduled'), 15_000, 'the final acknowledgement');
    expect(await again.decommissionFinished).to.equal(false);
    const after = master!.requests.slice(seen);
    expect(
      after.filter((r) => r.endpoint === 'events'),
      'nothing reported',
    ).to.deep.equal([]);
    expect(new Set(after.map((r) => r.endpoint))).to.deep.equal(new Set(['register', 'commands', 'ack']));
    const tunnel = await inspectOrNull(docker, TUNNEL_CONTAINER);
    expect(tunnel?.State.Running, 'not restored').to.equal(false);
  });
});
