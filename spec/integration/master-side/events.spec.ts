import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { RecordedRequest, TestMaster } from '../../master/index.js';
import type { InProcessAgent } from '../../helpers/agent-harness.js';
import { removeSpecContainers, startLabelled, stopContainer } from '../../helpers/docker-fixtures.js';
import { useSpecSession } from '../../helpers/spec-session.js';
import { injectCrash } from '../../../supervisor/protocol.js';
import { tell } from '../../../supervisor/actor-ref.js';

type Body = Record<string, unknown>;
const body = (r: { body: unknown }): Body => (r.body ?? {}) as Body;
const containerId = (r: { body: unknown }): string | undefined =>
  (body(r).container as { id?: string } | undefined)?.id;
const isEvent =
  (type: string, id?: string) =>
  (r: RecordedRequest): boolean =>
    r.endpoint === 'events' && body(r).type === type && (id === undefined || containerId(r) === id);
/** Processed by the master (a faulted reply can be a 200 too, but never says `accepted`). */
const accepted = (r: RecordedRequest): boolean => (r.response as { code?: unknown } | undefined)?.code === 'accepted';

describe('master side: events and the outbox', () => {
  const harness = useSpecSession(removeSpecContainers);
  /** Agents of one test share its master's key: a second one is the first one restarted. */
  let key: string | undefined;
  const start = (
    env: Record<string, string> = {},
    extra: { dataDir?: string; outboxCapacity?: number } = {},
  ): Promise<InProcessAgent> => harness.agent({ env, key: key!, ...extra });

  it('delivers every event exactly once in effect across a master outage (503 with Retry-After)', async () => {
    const master = await harness.master();
    key = master.generateKey();
    const agent = await start();
    const id = await agent.registered();
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
    master.addFault({ endpoint: 'events', fault: { kind: 'status', status: 503, retryAfterSeconds: 1 } });
    const a = await startLabelled('outage-a');
    const b = await startLabelled('outage-b');
    await stopContainer(a);
    await agent.sink.waitFor(
      (r) => r.event === 'event_queued' && r.type === 'container_stop',
      10_000,
      'the stop queued during the outage',
    );
    master.clearFaults();
    await master.waitFor(
      (r) => isEvent('container_stop', a)(r) && r.status === 200,
      15_000,
      'the stop delivered after recovery',
    );
    const accepted = master.acceptedEvents(id);
    const count = (type: string, cid: string): number =>
      accepted.filter((e) => e.type === type && (e.body.container as { id: string }).id === cid).length;
    expect(count('container_start', a)).to.equal(1);
    expect(count('container_stop', a)).to.equal(1);
    expect(count('container_start', b)).to.equal(1);
    expect(master.agent(id)!.containers.get(b)?.state).to.equal('active');
    expect(master.agent(id)!.containers.get(a)?.state).to.equal('pending_deletion');
    // Retries reused their numbers: sent sequences never go backwards.
    const seqs = master.requests
      .filter((r) => r.endpoint === 'events' && body(r).type !== 'status_report')
      .map((r) => Number(body(r).event_sequence));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).to.be.at.least(seqs[i - 1]!);
    const attempts = master.requests.filter((r) => isEvent('container_start', a)(r)).map((r) => r.at);
    if (attempts.length > 1) expect(attempts[1]! - attempts[0]!).to.be.at.least(900);
  });

  it('re-registers on 409 registration_required and resends the event under the new session', async () => {
    const master = await harness.master();
    key = master.generateKey();
    const agent = await start();
    const id = await agent.registered();
    const firstSession = master.agent(id)!.sessionId;
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
    master.dropSession(id);
    const c = await startLabelled('session-c');
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 409, 10_000);
    const delivered = await master.waitFor(
      (r) => isEvent('container_start', c)(r) && r.status === 200,
      15_000,
      'the start under the new session',
    );
    expect(body(delivered).agent_session_id).to.equal(master.agent(id)!.sessionId).and.not.equal(firstSession);
    expect(
      master
        .acceptedEvents(id)
        .filter((e) => e.type === 'container_start' && (e.body.container as { id: string }).id === c),
    ).to.have.length(1);
    expect(agent.sink.events('reregistration_required')[0]).to.include({ cause: 'registration_required' });
    expect(agent.fatal).to.be.empty;
  });

  const hostile: [string, Parameters<TestMaster['addFault']>[0]['fault']][] = [
    ['non-JSON', { kind: 'malformed' }],
    ['an HTML login page', { kind: 'html' }],
    ['a 2 MiB body', { kind: 'huge', bytes: 2 * 1024 * 1024 }],
    ['wrong types', { kind: 'wrong-types' }],
    ['a dropped connection', { kind: 'drop' }],
    ['a reply slower than the timeout', { kind: 'slow', delayMs: 2500 }],
  ];
  for (const [what, fault] of hostile) {
    it(`survives ${what} from the events endpoint and still delivers the queued event`, async () => {
      const master = await harness.master();
      key = master.generateKey();
      const agent = await start();
      const id = await agent.registered();
      await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
      master.addFault({ endpoint: 'events', eventType: 'container_start', fault, times: 2 });
      const c = await startLabelled('hostile');
      await master.waitFor((r) => isEvent('container_start', c)(r) && accepted(r), 20_000, 'delivery after the faults');
      expect(
        master
          .acceptedEvents(id)
          .filter((e) => e.type === 'container_start' && (e.body.container as { id: string }).id === c),
      ).to.have.length(1);
      expect(agent.sink.events('event_send_failed').length).to.be.at.least(1);
      expect(agent.fatal).to.be.empty;
      expect(agent.sink.events('actor_crashed')).to.be.empty;
    });
  }

  it("continues the session's numbering when the Reporter alone is restarted (no stale sequences)", async () => {
    const master = await harness.master();
    key = master.generateKey();
    const agent = await start();
    await agent.registered();
    await master.waitForCount((r) => body(r).type === 'heartbeat' && r.status === 202, 2, 8000);
    tell(agent.agent.cells.workers, injectCrash('reporter', 'spec'));
    await agent.sink.waitFor((r) => r.event === 'actor_started' && r.child === 'reporter' && r.gen === 2, 5000);
    const c = await startLabelled('renumbered');
    await master.waitFor((r) => isEvent('container_start', c)(r) && accepted(r), 10_000);
    expect(master.requests.filter((r) => r.status === 409)).to.be.empty;
  });

  it('drops an event the master calls invalid, without retrying it, and carries on', async () => {
    const master = await harness.master();
    key = master.generateKey();
    const agent = await start();
    await agent.registered();
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
    master.addFault({
      endpoint: 'events',
      eventType: 'container_start',
      times: 1,
      fault: { kind: 'status', status: 400, body: { status: 'error', code: 'invalid_payload' } },
    });
    const c = await startLabelled('invalid-c');
    await master.waitFor((r) => isEvent('container_start', c)(r) && r.status === 400);
    const d = await startLabelled('invalid-d');
    await master.waitFor((r) => isEvent('container_start', d)(r) && r.status === 200, 10_000);
    expect(master.requests.filter(isEvent('container_start', c))).to.have.length(1);
    expect(agent.sink.events('event_rejected')[0]).to.include({ level: 50, type: 'container_start' });
  });

  it('keeps undelivered events across an agent restart (outbox.json) and delivers them to the next run', async () => {
    const master = await harness.master();
    key = master.generateKey();
    const first = await start();
    const id = await first.registered();
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
    master.addFault({ endpoint: 'events', eventType: 'container_start', fault: { kind: 'status', status: 503 } });
    master.addFault({ endpoint: 'events', eventType: 'container_stop', fault: { kind: 'status', status: 503 } });
    const c = await startLabelled('persisted');
    await stopContainer(c);
    await first.sink.waitFor((r) => r.event === 'event_send_failed', 10_000);
    await first.stop({ keepData: true });
    const saved = JSON.parse(await readFile(path.join(first.dataDir, 'outbox.json'), 'utf8')) as {
      entries: { event: { type: string } }[];
    };
    expect(saved.entries.map((e) => e.event.type)).to.deep.equal(['container_start', 'container_stop']);
    master.clearFaults();
    const second = await start({}, { dataDir: first.dataDir });
    await second.registered();
    await master.waitFor(
      (r) => isEvent('container_stop', c)(r) && r.status === 200,
      15_000,
      'the stop from the last run',
    );
    const accepted = master
      .acceptedEvents(id)
      .filter((e) => (e.body.container as { id?: string } | undefined)?.id === c)
      .map((e) => e.type);
    expect(accepted).to.deep.equal(['container_start', 'container_stop']);
  });

  it('bounds the outbox: drops the oldest, counts and logs them, and forces a full report after recovery', async () => {
    const master = await harness.master();
    key = master.generateKey();
    const agent = await start({}, { outboxCapacity: 2 });
    await agent.registered();
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);
    master.addFault({ endpoint: 'events', eventType: 'container_start', fault: { kind: 'status', status: 503 } });
    for (const n of ['o1', 'o2', 'o3', 'o4', 'o5']) await startLabelled(`overflow-${n}`);
    await agent.sink.waitForCount((r) => r.event === 'outbox_overflow', 2, 10_000);
    const dropped = agent.sink.events('outbox_overflow').reduce((n, r) => n + Number(r.dropped), 0);
    expect(dropped).to.be.at.least(1);
    expect(agent.agent.outbox.dropped).to.equal(dropped);
    expect(
      agent.sink.events('outbox_overflow').filter((r) => r.level === 40),
      'one warning per episode, the rest at debug',
    ).to.have.length(1);
    const reportsBefore = master.requests.filter((r) => body(r).type === 'status_report').length;
    master.clearFaults();
    await master.waitForCount((r) => body(r).type === 'status_report' && r.status === 200, reportsBefore + 1, 10_000);
    expect(agent.sink.events('event_rejected')).to.be.empty;
  });

  it('reports an incomplete inventory when Docker cannot be listed (v2), and no report at all on a v1 master', async () => {
    for (const mode of ['v2', 'v1'] as const) {
      const master = await harness.master({ mode });
      key = master.generateKey();
      const agent = await start({ DOCKER_HOST: 'unix:///tmp/dockflare-no-such-docker.sock' });
      await agent.registered();
      await master.waitForCount((r) => body(r).type === 'heartbeat' && r.status === 202, 2, 8000);
      const reports = master.requests.filter((r) => body(r).type === 'status_report');
      if (mode === 'v2') {
        expect(reports.length).to.be.at.least(1);
        for (const r of reports) {
          expect(body(r).inventory_complete).to.equal(false);
          expect(body(r)).not.to.have.property('containers');
        }
      } else {
        expect(reports).to.have.length(0);
        expect(agent.sink.events('status_report_skipped').length).to.be.at.least(1);
      }
      await agent.stop();
      await master.stop();
    }
  });
});
