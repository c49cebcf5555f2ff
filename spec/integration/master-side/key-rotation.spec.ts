import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { removeSpecContainers } from '../../helpers/docker-fixtures.js';
import { useSpecSession } from '../../helpers/spec-session.js';

describe('master side: a key rolled on the master and written to the key file', () => {
  const harness = useSpecSession(removeSpecContainers);

  it('is picked up at the first 401, without a restart and without losing a request', async () => {
    const master = await harness.master();
    const dir = await harness.tempDir('dfa-keyfile-');
    const keyFile = path.join(dir, 'dockflare_api_key');
    await writeFile(keyFile, `${master.generateKey()}\n`, { mode: 0o600 });
    const agent = await harness.agent({ key: '', env: { DOCKFLARE_API_KEY_FILE: keyFile } });
    const id = await agent.registered();
    await master.waitFor((r) => r.endpoint === 'events' && r.status === 202);

    // As an operator does it: the key is rolled on the master first, then written to the file; requests in between
    // are refused with 401 and retried.
    const rolledAt = Date.now();
    const rolled = master.rollKey(id);
    await master.waitFor((r) => r.at >= rolledAt && r.status === 401, 15_000, 'the old key refused');
    const writtenAt = Date.now();
    await writeFile(keyFile, `${rolled}\n`);
    await agent.sink.waitFor((r) => r.event === 'api_key_reloaded', 15_000, 'the key read again');
    // The 401 that made the agent read the file, and any other request that was out with the old key then (a
    // heartbeat and a status report may be out together: they number separately): each is followed on its endpoint
    // by a success, at once. Taking only the last 401 seen here raced with one still on its way.
    const refusedSinceWrite = master.requests.filter((r) => r.status === 401 && r.at >= writtenAt);
    expect(refusedSinceWrite, 'a request refused after the key file changed').not.to.be.empty;
    let next = refusedSinceWrite[0]!;
    for (const refused of refusedSinceWrite) {
      next = await master.waitFor(
        (r) => r.seq > refused.seq && r.endpoint === refused.endpoint && r.status >= 200 && r.status < 300,
        5000,
        'the same request again, with the new key',
      );
      expect(next.at - refused.at, 'at once, not after a backoff').to.be.below(1000);
    }
    expect(agent.sink.events('api_key_reloaded')).to.have.length(1);
    await master.waitFor((r) => r.at > next.at && r.endpoint === 'events' && r.status === 202, 15_000);
    expect(agent.sink.events('actor_crashed'), 'no restart').to.be.empty;
    expect(agent.sink.events('event_rejected'), 'nothing dropped').to.be.empty;
    expect(
      master.requests.filter((r) => r.at > next.at && r.status === 401),
      'no 401 after the reload',
    ).to.be.empty;
    expect(agent.sink.events('registered'), 'no new registration').to.have.length(1);
    expect(agent.sink.lines.join('\n'), 'neither key in the log').not.to.include(rolled);
  });
});
