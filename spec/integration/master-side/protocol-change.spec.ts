import { expect } from 'chai';
import { useSpecSession } from '../../helpers/spec-session.js';
import type { RecordedRequest } from '../../master/index.js';

type Body = Record<string, unknown>;
const body = (r: { body: unknown }): Body => (r.body ?? {}) as Body;
const registered = (r: RecordedRequest): boolean => r.endpoint === 'register' && r.status >= 200 && r.status < 300;
const version = (r: RecordedRequest): unknown => (r.response as Body).protocol_version ?? 1;

/** The master upgraded or downgraded under a running agent (the same master, its protocol switched in place). */
describe('master side: the master changes protocol under a running session', function () {
  this.timeout(30_000);
  const harness = useSpecSession();

  it('an upgraded master (v2 codes in a v1 session) makes the agent register once more, and it speaks v2 after', async () => {
    const master = await harness.master({ mode: 'v1' });
    const agent = await harness.agent();
    const id = await agent.registered();
    expect(version(master.requests.find(registered)!)).to.equal(1);
    master.switchMode('v2');
    const again = await master.waitFor((r) => registered(r) && version(r) === 2, 15_000, 'a v2 registration');
    expect((again.response as Body).agent_id, 'the same agent').to.equal(id);
    const beat = await master.waitFor(
      (r) => r.seq > again.seq && r.endpoint === 'events' && r.status === 202,
      10_000,
      'an event of the new session',
    );
    expect(body(beat)).to.include({ protocol_version: 2, agent_session_id: master.agent(id)!.sessionId });
    // A few more report intervals: no second re-registration.
    await master.waitForCount((r) => r.seq > beat.seq && r.endpoint === 'events' && r.status < 300, 4, 10_000);
    expect(master.requests.filter(registered)).to.have.length(2);
    expect(agent.sink.events('master_protocol_changed').map((r) => r.cause)).to.deep.equal(['protocol_upgrade']);
  });

  it('a downgraded master (replies without code in a v2 session) makes the agent register again and speak v1', async () => {
    const master = await harness.master({ mode: 'v2' });
    const agent = await harness.agent();
    const id = await agent.registered();
    master.switchMode('v1');
    const again = await master.waitFor((r) => registered(r) && version(r) === 1, 15_000, 'a v1 registration');
    const next = await master.waitFor(
      (r) => r.seq > again.seq && r.endpoint === 'events' && r.status === 202,
      10_000,
      'an event after',
    );
    expect(body(next)).not.to.have.property('agent_session_id');
    await master.waitForCount((r) => r.seq > next.seq && r.endpoint === 'events' && r.status < 300, 4, 10_000);
    expect(master.requests.filter(registered)).to.have.length(2);
    expect(agent.sink.events('master_protocol_changed').map((r) => r.cause)).to.deep.equal(['protocol_downgrade']);
    expect(master.agent(id)).not.to.equal(undefined);
  });
});
