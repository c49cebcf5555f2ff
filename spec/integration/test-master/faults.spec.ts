import { expect } from 'chai';
import { agentPaths, call, type TestMaster } from '../../master/index.js';
import { masterCalls } from '../../helpers/master-calls.js';

describe('spec/master: the test master, faults', () => {
  let master!: TestMaster;
  let key!: string;
  const { start, register, registerV2, poll, post } = masterCalls({
    get: () => ({ master, key }),
    set: (m, k) => {
      master = m;
      key = k;
    },
  });

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
    expect([rec.status, rec.response]).to.deep.equal([0, { status: 'success', commands: [{ action: 'stop_tunnel' }] }]);
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
