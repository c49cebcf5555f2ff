import { expect } from 'chai';
import { reporterDef, type ReporterState } from '../../../actors/reporter.js';
import type { DockerPort } from '../../../lib/docker/port.js';
import type { MasterClient } from '../../../lib/master/client.js';
import type { MasterResult } from '../../../lib/master/result.js';
import { identityChanged, type RegistrationMsg } from '../../../messages/registration.js';
import { reporterEnqueue, type ReporterMsg } from '../../../messages/reporter.js';
import { Outbox } from '../../../persistence/outbox.js';
import { callbackRef } from '../../../supervisor/actor-ref.js';
import type { ActorContext } from '../../../supervisor/child-spec.js';
import { StatusBoard } from '../../../supervisor/status-board.js';
import { Timers } from '../../../supervisor/timers.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

type Body = Readonly<Record<string, unknown>>;
const ACCEPTED: MasterResult<{ code: string | null }> = { ok: true, status: 200, value: { code: 'accepted' } };
const STALE: MasterResult<{ code: string | null }> = { ok: false, failure: { kind: 'stale_sequence', status: 409 } };
const session = (id: string) => ({ agentId: 'agent-1', protocolVersion: 2 as const, sessionId: id });
const start = (id: string) => reporterEnqueue({ type: 'container_start', container: { id, name: id, status: 'running', labels: {} }, timestamp: '2026-11-29T10:00:00.000000+00:00' });

/**
 * The real Reporter definition, driven as the actor host does (init, then its mailbox in order; piped requests come
 * back as messages), against a master that accepts everything except the sessions it has been told to refuse as
 * stale (its counter is ahead of ours), and an engine with no containers.
 */
async function reporterRun(): Promise<{ sent: Body[]; toRegistration: RegistrationMsg[]; refuse: Set<string>; send(msg: ReporterMsg): Promise<void> }> {
  const clock = new ManualClock();
  const sink = new LogSink();
  const sent: Body[] = [];
  const refuse = new Set<string>();
  const toRegistration: RegistrationMsg[] = [];
  const fail = (what: string) => (): never => { throw new Error(`reporter spec: unexpected ${what}`); };
  const client: MasterClient = {
    register: fail('register'), fetchCommands: fail('fetchCommands'), lastSuccessAt: null,
    postEvent: (_agentId, body) => {
      sent.push(body);
      return Promise.resolve(refuse.has(String(body.agent_session_id)) ? STALE : ACCEPTED);
    },
  };
  const docker = { listManagedContainers: () => Promise.resolve([]) } as unknown as DockerPort;
  const def = reporterDef({
    client, docker, outbox: await Outbox.open(null, 100, sink.log, clock), registration: callbackRef<RegistrationMsg>('registration', (m) => { toRegistration.push(m); }),
    board: new StatusBoard('https://master.example'), healthSummary: () => undefined, reportIntervalMs: 30_000, retryCapMs: 60_000, random: () => 0.5,
  });
  const mailbox: ReporterMsg[] = [];
  let pending = 0;
  const toSelf = (msg: ReporterMsg): void => { mailbox.push(msg); };
  const ctx: ActorContext<ReporterMsg> = {
    self: callbackRef('reporter', toSelf), name: 'reporter', gen: 1, log: sink.log, clock, signal: new AbortController().signal,
    timers: new Timers(clock, toSelf), stopSelf: fail('stopSelf'), restartSelf: fail('restartSelf'), toSelf, runtimeHandle: null,
    pipe: (work, onOk, onErr) => {
      pending++;
      work.then((v) => { mailbox.push(onOk(v)); }, (e: unknown) => { if (!onErr) throw e; mailbox.push(onErr(e)); }).finally(() => { pending--; }).catch(() => undefined);
    },
  };
  let state: ReporterState = await def.init(ctx);
  const settle = async (): Promise<void> => {
    for (;;) {
      for (let msg = mailbox.shift(); msg !== undefined; msg = mailbox.shift()) {
        const handler = def.handlers[msg.type] as (s: ReporterState, m: ReporterMsg, c: ActorContext<ReporterMsg>) => ReporterState | Promise<ReporterState>;
        state = await handler(state, msg, ctx);
      }
      if (pending === 0 && mailbox.length === 0) return;
      await new Promise<void>((resolve) => { setImmediate(resolve); });
    }
  };
  return { sent, toRegistration, refuse, send: async (msg) => { mailbox.push(msg); await settle(); } };
}

describe('reporter: a session the master refuses', () => {
  it('holds the queue after a stale_sequence until the new session, instead of losing one event after another', async () => {
    const run = await reporterRun();
    await run.send(identityChanged(session('s1')));
    run.refuse.add('s1');
    for (const id of ['c1', 'c2', 'c3']) await run.send(start(id));
    const events = (s: string): unknown[] => run.sent.filter((b) => b.agent_session_id === s && b.type === 'container_start').map((b) => (b.container as { id: string }).id);
    expect(events('s1'), 'the refused one only').to.deep.equal(['c1']);
    expect(run.toRegistration.filter((m) => m.type === 'registration.required').map((m) => m.type === 'registration.required' && m.cause)).to.deep.equal(['stale_sequence']);

    await run.send(identityChanged(session('s2')));
    expect(events('s2'), 'the held ones, in order, under the new session').to.deep.equal(['c2', 'c3']);
    const s2 = run.sent.filter((b) => b.agent_session_id === 's2' && b.event_sequence !== undefined).map((b) => [b.type, b.event_sequence]);
    expect(s2, 'a new session starts with a heartbeat, then numbers on').to.deep.equal([['heartbeat', 1], ['container_start', 2], ['container_start', 3]]);
  });
});
