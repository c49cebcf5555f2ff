import { expect } from 'chai';
import { TestMaster, type Fault, type RecordedRequest } from '../../master/index.js';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/agent-harness.js';
import { removeSpecContainers, startLabelled } from '../../helpers/docker-fixtures.js';
import { tail } from '../../helpers/log-sink.js';

type Body = Record<string, unknown>;
const body = (r: { body: unknown }): Body => (r.body ?? {}) as Body;
const startOf =
  (id: string) =>
  (r: RecordedRequest): boolean =>
    r.endpoint === 'events' &&
    body(r).type === 'container_start' &&
    (body(r).container as { id?: string } | undefined)?.id === id;

/** docs/protocol.md §5.2: every reply to an event, and what the agent must do about it. */
const table: {
  reply: string;
  fault: Fault;
  expect: 'retry' | 'drop' | 'reregister' | 'drop_and_reregister';
  log?: string;
}[] = [
  { reply: '429 with Retry-After', fault: { kind: 'status', status: 429, retryAfterSeconds: 1 }, expect: 'retry' },
  {
    reply: '500 processing_failed',
    fault: { kind: 'status', status: 500, body: { status: 'error', code: 'processing_failed' } },
    expect: 'retry',
  },
  {
    reply: '413 payload_too_large',
    fault: { kind: 'status', status: 413, body: { status: 'error', code: 'payload_too_large' } },
    expect: 'drop',
    log: 'event_rejected',
  },
  {
    reply: '401 unauthorized',
    fault: { kind: 'status', status: 401, body: { status: 'error', code: 'unauthorized' } },
    expect: 'drop',
    log: 'event_rejected',
  },
  {
    reply: '409 stale_sequence',
    fault: { kind: 'status', status: 409, body: { status: 'error', code: 'stale_sequence' } },
    expect: 'drop_and_reregister',
    log: 'event_rejected',
  },
  {
    reply: '403 agent_key_mismatch',
    fault: { kind: 'status', status: 403, body: { status: 'error', code: 'agent_key_mismatch' } },
    expect: 'drop_and_reregister',
    log: 'event_rejected',
  },
  {
    reply: '409 registration_required',
    fault: { kind: 'status', status: 409, body: { status: 'error', code: 'registration_required' } },
    expect: 'reregister',
  },
  { reply: '404 HTML page from a proxy in front of the master', fault: { kind: 'html', status: 404 }, expect: 'retry' },
  {
    reply: '401 HTML page from an Access login in front of the master',
    fault: { kind: 'html', status: 401 },
    expect: 'retry',
  },
  {
    reply: '418 (anything else)',
    fault: { kind: 'status', status: 418, body: { status: 'error', code: 'teapot' } },
    expect: 'drop',
    log: 'event_rejected',
  },
];

describe('master side: the agent reaction to every event reply', () => {
  let master: TestMaster | undefined;
  let agent: InProcessAgent | undefined;
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && agent) console.log(tail(agent.sink));
    await agent?.stop();
    await master?.stop();
    agent = undefined;
    master = undefined;
    await removeSpecContainers();
  });

  for (const row of table) {
    it(`${row.reply} → ${row.expect}`, async () => {
      master = await TestMaster.start({ mode: 'v2' });
      agent = await startInProcessAgent({ master, key: master.generateKey() });
      await agent.registered();
      await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
      master.addFault({ endpoint: 'events', eventType: 'container_start', fault: row.fault, times: 1 });
      const id = await startLabelled(`reply-${row.fault.kind === 'status' ? row.fault.status : 0}`);
      const first = await master.waitFor(startOf(id), 10_000, 'the first attempt');
      if (row.expect === 'retry' || row.expect === 'reregister') {
        const second = await master.waitFor((r) => startOf(id)(r) && r.seq > first.seq, 10_000, 'the resend');
        expect((second.response as { code?: string }).code).to.equal('accepted');
        if (row.expect === 'retry') {
          expect(body(second).event_sequence, 'a retry keeps its number').to.equal(body(first).event_sequence);
          if (row.fault.kind === 'status' && row.fault.retryAfterSeconds)
            expect(second.at - first.at).to.be.at.least(950);
        } else {
          expect(body(second).agent_session_id).not.to.equal(body(first).agent_session_id);
        }
      } else {
        await agent.sink.waitFor((r) => r.event === row.log, 5000);
        const next = await startLabelled(`reply-after-${row.fault.kind === 'status' ? row.fault.status : 0}`);
        await master.waitFor(
          (r) => startOf(next)(r) && (r.response as { code?: string } | undefined)?.code === 'accepted',
          15_000,
          'the next event',
        );
        expect(master.requests.filter(startOf(id)), 'dropped, never resent').to.have.length(1);
        if (row.expect === 'drop_and_reregister') {
          expect(
            agent.sink.records.some(
              (r) => r.event === 'reregistration_required' || r.event === 'reregistration_deferred',
            ),
          ).to.equal(true);
        }
      }
      expect(agent.fatal).to.be.empty;
    });
  }

  it('warns loudly when the master is reached over plain http on a non-loopback host', async () => {
    master = await TestMaster.start({ mode: 'v2' });
    const url = new URL(master.url);
    agent = await startInProcessAgent({
      master,
      key: 'k'.repeat(43),
      env: { DOCKFLARE_MASTER_URL: `http://localhost.localdomain.invalid:${url.port}` },
    });
    expect(agent.sink.events('master_plain_http')[0]).to.include({ level: 40, host: 'localhost.localdomain.invalid' });
  });
});
