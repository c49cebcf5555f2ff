import { expect } from 'chai';
import { dockerStandIn } from '../../../helpers/docker-stand-in.js';
import { reporterDef } from '../../../../actors/reporter/reporter.js';
import type { MasterResult } from '../../../../domain/master-result.js';
import { StatusBoard } from '../../../../domain/status-board.js';
import type { MasterClient } from '../../../../master/client.js';
import { identityChanged, type RegistrationMsg } from '../../../../messages/registration.js';
import { reporterEnqueue } from '../../../../messages/reporter.js';
import { Outbox } from '../../../../persistence/outbox.js';
import { callbackRef } from '../../../../supervisor/actor-ref.js';
import { ActorDriver, failing } from '../../../helpers/actor-driver.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

type Reply = MasterResult<{ code: string | null }>;
const ACCEPTED: Reply = { ok: true, status: 202, value: { code: 'accepted' } };
const IDENTITY = { agentId: 'agent-1', protocolVersion: 2 as const, sessionId: 's1' };

/** A Reporter whose master answers container events (or the types in `held`) only when the spec says so. */
async function slowMaster(held: readonly string[] = ['container_stop']) {
  const clock = new ManualClock();
  const sink = new LogSink();
  const posts: { body: Readonly<Record<string, unknown>>; answer: (r: Reply) => void }[] = [];
  const client: MasterClient = {
    register: failing('reporter spec', 'register'),
    ackDecommission: failing('reporter spec', 'ackDecommission'),
    fetchCommands: failing('reporter spec', 'fetchCommands'),
    lastSuccessAt: null,
    postEvent: (_agentId, body) =>
      held.includes(String(body.type))
        ? new Promise<Reply>((resolve) => {
            posts.push({ body, answer: resolve });
          })
        : Promise.resolve(ACCEPTED),
  };
  const outbox = await Outbox.open(null, 100, sink.log, clock);
  const def = reporterDef({
    client,
    docker: dockerStandIn('reporter spec', { listManagedContainers: () => Promise.resolve([]) }),
    outbox,
    registration: callbackRef<RegistrationMsg>('registration', () => undefined),
    board: new StatusBoard('https://master.example'),
    healthSummary: () => undefined,
    reportIntervalMs: 30_000,
    heartbeatIntervalMs: 30_000,
    retryCapMs: 60_000,
    lifecycle: { lifecycle: 'enrolled' },
    random: () => 0.5,
    inventoryFromEvents: true,
  });
  const driver = new ActorDriver(def, { name: 'reporter', log: sink.log, clock });
  const step = (): Promise<void> => driver.turns();
  const begin = async (): Promise<void> => {
    await driver.spawn().initialised;
    driver.tell(identityChanged(IDENTITY));
    await step();
  };
  const newSession = async (sessionId: string): Promise<void> => {
    driver.tell(identityChanged({ ...IDENTITY, sessionId }));
    await step();
  };
  return { driver, posts, outbox, step, begin, newSession };
}

const stop = reporterEnqueue({
  type: 'container_stop',
  container: { id: 'c1', name: 'web', status: 'exited', labels: {} },
  timestamp: '2026-12-07T09:00:00.000000+00:00',
});

describe('reporter: a request in flight when its incarnation is killed', () => {
  it('is not sent again: the next incarnation waits for its reply, which retires the outbox entry', async () => {
    const run = await slowMaster();
    await run.begin();
    run.driver.tell(stop);
    await run.step();
    expect(
      run.posts.map((p) => p.body.type),
      'the stop is out',
    ).to.deep.equal(['container_stop']);

    run.driver.kill();
    await run.begin();
    expect(run.posts, 'nothing sent while the first request is out').to.have.length(1);

    run.posts[0]!.answer(ACCEPTED);
    await run.step();
    expect(run.outbox.size, 'the late reply retired the entry').to.equal(0);
    expect(
      run.posts.map((p) => p.body.type),
      'the master saw the stop once',
    ).to.deep.equal(['container_stop']);
  });

  it('a kill at every point of a send: each event reaches the master once', async () => {
    for (const killAfter of ['sent', 'answered'] as const) {
      const run = await slowMaster();
      await run.begin();
      run.driver.tell(stop);
      await run.step();
      if (killAfter === 'answered') run.posts[0]!.answer(ACCEPTED);
      run.driver.kill();
      await run.begin();
      if (killAfter === 'sent') run.posts[0]!.answer(ACCEPTED);
      await run.step();
      const stops = run.posts.filter((p) => p.body.type === 'container_stop');
      expect(stops, `killed after it was ${killAfter}`).to.have.length(1);
      expect(run.outbox.size).to.equal(0);
    }
  });
});

describe('reporter: a heartbeat of the last session answered after a new one began', () => {
  it("does not stand for the new session's first heartbeat", async () => {
    const run = await slowMaster(['heartbeat']);
    await run.begin();
    expect(run.posts.map((p) => p.body.agent_session_id)).to.deep.equal(['s1']);
    await run.newSession('s2');
    run.posts[0]!.answer(ACCEPTED);
    await run.step();
    const heartbeats = run.posts.map((p) => [p.body.type, p.body.agent_session_id]);
    expect(heartbeats, 'the new session announced at once').to.deep.equal([
      ['heartbeat', 's1'],
      ['heartbeat', 's2'],
    ]);
  });
});
