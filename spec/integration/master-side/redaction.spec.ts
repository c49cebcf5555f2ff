import { expect } from 'chai';
import { useSpecSession } from '../../helpers/spec-session.js';
import { removeSpecContainers } from '../../helpers/docker-fixtures.js';

/** What a hostile or broken master can put in a reply's secret-looking fields: pieces of a log line's structure. */
const POISON = { key: '"level":30', token: '"msg":"', api_key: '"}', tunnel_token: 'status', secret: '","' };

describe('master side: a reply cannot teach the redactor what to scrub', () => {
  const harness = useSpecSession(removeSpecContainers);

  it('keeps every log line and the health report valid JSON after replies full of secret-looking fields', async () => {
    const master = await harness.master();
    const agent = await harness.agent({ key: master.generateKey() });
    await agent.registered();
    const learnedBefore = agent.sink.redactor.size;
    master.addFault({
      endpoint: 'commands',
      fault: { kind: 'status', status: 200, body: { status: 'success', commands: [], ...POISON } },
      times: 3,
    });
    master.addFault({ endpoint: 'events', fault: { kind: 'status', status: 503, body: POISON }, times: 2 });
    master.addFault({ endpoint: 'commands', fault: { kind: 'status', status: 401, body: POISON }, times: 1 });
    await master.waitForCount((r) => r.endpoint === 'commands', 5, 15_000);
    await master.waitFor(
      (r) => r.endpoint === 'events' && r.status === 202,
      15_000,
      'an event accepted after the 503s',
    );

    expect(agent.sink.redactor.size, 'nothing learned from the replies').to.equal(learnedBefore);
    const broken = agent.sink.lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(broken, 'log lines that no longer parse').to.deep.equal([]);
    const report = JSON.stringify(agent.agent.healthReport().body);
    expect(() => {
      JSON.parse(agent.sink.redactor.redact(report));
    }, '/health as served').not.to.throw();
    expect(
      agent.sink.lines.some((l) => l.includes('"level":30')),
      'the lines still carry their level',
    ).to.equal(true);
  });
});
