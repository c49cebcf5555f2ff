import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { dockerStandIn } from '../../../helpers/docker-stand-in.js';
import { reporterDef } from '../../../../actors/reporter/reporter.js';
import { keepUndelivered } from '../../../../actors/reporter/reporter-steps.js';
import type { MasterClient } from '../../../../master/client.js';
import type { MasterResult } from '../../../../domain/master-result.js';
import { identityChanged, type RegistrationMsg } from '../../../../messages/registration.js';
import { reporterEnqueue, reporterTick, type ReporterMsg } from '../../../../messages/reporter.js';
import { Outbox } from '../../../../persistence/outbox.js';
import { ActorCell, callbackRef, tell } from '../../../../supervisor/actor-ref.js';
import { StatusBoard } from '../../../../domain/status-board.js';
import { ActorDriver, failing } from '../../../helpers/actor-driver.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

type Body = Readonly<Record<string, unknown>>;
const ACCEPTED: MasterResult<{ code: string | null }> = { ok: true, status: 200, value: { code: 'accepted' } };
const STALE: MasterResult<{ code: string | null }> = { ok: false, failure: { kind: 'stale_sequence', status: 409 } };
const session = (id: string) => ({ agentId: 'agent-1', protocolVersion: 2 as const, sessionId: id });
const start = (id: string) =>
  reporterEnqueue({
    type: 'container_start',
    container: { id, name: id, status: 'running', labels: {} },
    timestamp: '2026-11-29T10:00:00.000000+00:00',
  });

/**
 * The real Reporter definition, driven as the actor host does (init, then its mailbox in order; piped requests come
 * back as messages), against a master that accepts everything except the sessions it has been told to refuse as
 * stale (its counter is ahead of ours), and an engine with no containers.
 */
interface ReporterRun {
  sent: Body[];
  /** The manual clock's time of each request in `sent`. */
  sentAt: number[];
  toRegistration: RegistrationMsg[];
  refuse: Set<string>;
  /** Replaces the master's answer (default: accepted, or stale for a refused session). */
  reply: { fn: ((body: Body) => MasterResult<{ code: string | null }>) | null };
  send(msg: ReporterMsg): Promise<void>;
  advance(ms: number): Promise<void>;
}

async function reporterRun(
  opts: { dir?: string; capacity?: number; reportMs?: number; heartbeatMs?: number } = {},
): Promise<ReporterRun> {
  const clock = new ManualClock();
  const sink = new LogSink();
  const sent: Body[] = [];
  const sentAt: number[] = [];
  const refuse = new Set<string>();
  const reply: ReporterRun['reply'] = { fn: null };
  const toRegistration: RegistrationMsg[] = [];
  const fail = (what: string): (() => never) => failing('reporter spec', what);
  const client: MasterClient = {
    register: fail('register'),
    ackDecommission: fail('ackDecommission'),
    fetchCommands: fail('fetchCommands'),
    lastSuccessAt: null,
    postEvent: (_agentId, body) => {
      sent.push(body);
      sentAt.push(clock.now());
      return Promise.resolve(reply.fn?.(body) ?? (refuse.has(String(body.agent_session_id)) ? STALE : ACCEPTED));
    },
  };
  const docker = dockerStandIn('reporter spec', { listManagedContainers: () => Promise.resolve([]) });
  const def = reporterDef({
    client,
    docker,
    outbox: await Outbox.open(opts.dir ?? null, opts.capacity ?? 100, sink.log, clock),
    registration: callbackRef<RegistrationMsg>('registration', (m) => {
      toRegistration.push(m);
    }),
    board: new StatusBoard('https://master.example'),
    healthSummary: () => undefined,
    reportIntervalMs: opts.reportMs ?? 30_000,
    heartbeatIntervalMs: opts.heartbeatMs ?? 30_000,
    retryCapMs: 60_000,
    lifecycle: { lifecycle: 'enrolled' },
    random: () => 0.5,
    inventoryFromEvents: true,
  });
  const driver = new ActorDriver(def, { name: 'reporter', log: sink.log, clock });
  await driver.start();
  return {
    sent,
    sentAt,
    toRegistration,
    refuse,
    reply,
    send: (msg) => driver.send(msg),
    advance: (ms) => driver.advance(ms),
  };
}

describe('reporter: a session the master refuses', () => {
  it('holds the queue after a stale_sequence until the new session, instead of losing one event after another', async () => {
    const run = await reporterRun();
    await run.send(identityChanged(session('s1')));
    run.refuse.add('s1');
    for (const id of ['c1', 'c2', 'c3']) await run.send(start(id));
    const events = (s: string): unknown[] =>
      run.sent
        .filter((b) => b.agent_session_id === s && b.type === 'container_start')
        .map((b) => (b.container as { id: string }).id);
    expect(events('s1'), 'the refused one only').to.deep.equal(['c1']);
    expect(
      run.toRegistration
        .filter((m) => m.type === 'registration.required')
        .map((m) => m.type === 'registration.required' && m.cause),
    ).to.deep.equal(['stale_sequence']);

    await run.send(identityChanged(session('s2')));
    expect(events('s2'), 'the held ones, in order, under the new session').to.deep.equal(['c2', 'c3']);
    const s2 = run.sent
      .filter((b) => b.agent_session_id === 's2' && b.event_sequence !== undefined)
      .map((b) => [b.type, b.event_sequence]);
    expect(s2, 'a new session starts with a heartbeat, then numbers on').to.deep.equal([
      ['heartbeat', 1],
      ['container_start', 2],
      ['container_start', 3],
    ]);
  });

  it('writes the queue to disk while there is no session yet, so that a kill -9 does not lose it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-reporter-'));
    try {
      const run = await reporterRun({ dir });
      await run.send(start('c1'));
      await run.advance(250);
      const saved = JSON.parse(await readFile(path.join(dir, 'outbox.json'), 'utf8')) as {
        entries: { event: { container: { id: string } } }[];
      };
      expect(saved.entries.map((e) => e.event.container.id)).to.deep.equal(['c1']);
      expect(run.sent, 'nothing sent without a session').to.deep.equal([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('still owes the full report after an overflow when the master ignored a report as a duplicate number', async () => {
    const run = await reporterRun({ capacity: 1 });
    await run.send(identityChanged(session('s1')));
    const failing: MasterResult<{ code: string | null }> = {
      ok: false,
      failure: { kind: 'transient', status: 503, retryAfterMs: null, reason: 'persistence_failed' },
    };
    run.reply.fn = (b) =>
      (b.type === 'container_start'
        ? failing
        : b.type === 'status_report'
          ? { ok: true, status: 200, value: { code: 'duplicate_sequence' } }
          : null) ?? ACCEPTED;
    await run.send(start('c1'));
    await run.send(start('c2')); // The outbox holds one: c1 goes, a full report is owed.
    await run.advance(30_000); // The periodic report: ignored by the master as a duplicate number.
    run.reply.fn = null;
    await run.advance(60_000); // Events go through again; the outbox empties.
    const lastStart = run.sent.map((b) => b.type).lastIndexOf('container_start');
    const report = run.sent.findIndex((b, i) => i > lastStart && b.type === 'status_report');
    expect(report, 'a report after the delivery').to.be.above(lastStart);
    expect(run.sentAt[report], 'the owed report follows the delivery at once, not at the next tick').to.equal(
      run.sentAt[lastStart],
    );
  });
});

describe('reporter: the outbox at shutdown', () => {
  it('keeps the events stashed for a Reporter that is backing off, and what the outbox had not written yet', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-reporter-'));
    try {
      const sink = new LogSink();
      const outbox = await Outbox.open(dir, 10, sink.log, new ManualClock());
      const before = start('queued-before');
      // Queued by the crashed incarnation; its 250 ms write died with it.
      if (before.type === 'reporter.enqueue') outbox.push(before.event);
      const cell = new ActorCell<ReporterMsg>('reporter', 'agent/reporter', 10, () => {
        throw new Error('no drop expected');
      });
      cell.status = 'backing_off';
      tell(cell, start('stashed'));
      tell(cell, reporterTick());
      await keepUndelivered(outbox, cell.takeStash());
      expect(cell.stashed, 'taken').to.equal(0);
      const next = await Outbox.open(dir, 10, sink.log, new ManualClock());
      const ids: string[] = [];
      for (let e = next.head(); e !== undefined; e = next.head()) {
        if (e.event.type !== 'tunnel_status') ids.push(e.event.container.id);
        next.delivered(e.id);
      }
      expect(ids, 'both survive into the next run').to.deep.equal(['queued-before', 'stashed']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('reporter: heartbeats and status reports', () => {
  /** Times since the first request. */
  const sentTimes = (run: ReporterRun, type: string): number[] =>
    run.sentAt.filter((_, i) => run.sent[i]?.type === type).map((t) => t - (run.sentAt[0] ?? 0));

  it('sends a status report every report interval and a heartbeat with it at most every heartbeat interval', async () => {
    const run = await reporterRun({ reportMs: 5_000, heartbeatMs: 30_000 });
    await run.send(identityChanged(session('s1')));
    await run.advance(60_000);
    expect(sentTimes(run, 'status_report')).to.have.length(13);
    expect(sentTimes(run, 'heartbeat'), 'at the session, then every sixth tick').to.deep.equal([0, 30_000, 60_000]);
  });

  it('pairs a heartbeat with every report when the two intervals are equal (the default)', async () => {
    const run = await reporterRun({ reportMs: 30_000, heartbeatMs: 30_000 });
    await run.send(identityChanged(session('s1')));
    await run.advance(90_000);
    expect(sentTimes(run, 'heartbeat')).to.deep.equal([0, 30_000, 60_000, 90_000]);
    expect(sentTimes(run, 'status_report')).to.deep.equal([0, 30_000, 60_000, 90_000]);
  });
});
