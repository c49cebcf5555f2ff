import { expect } from 'chai';
import { specMasterClient } from '../../helpers/master-client.js';

describe('master client: a request whose owner has already ended', () => {
  it('is not sent and comes back as an aborted transient failure, without an uncaught error', async () => {
    const client = specMasterClient('http://127.0.0.1:9', { timeoutMs: 2000 });
    const errors: unknown[] = [];
    const onError = (err: unknown): void => {
      errors.push(err);
    };
    process.prependListener('uncaughtException', onError);
    const ended = new AbortController();
    ended.abort();
    try {
      const result = await client.register(
        { display_name: 'a', version: '1', agent_version: '1', supported_protocol_versions: [2, 1] },
        ended.signal,
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(result).to.deep.equal({
        ok: false,
        failure: { kind: 'transient', status: null, retryAfterMs: null, reason: 'aborted' },
      });
      expect(errors).to.deep.equal([]);
      expect(client.stats().requests, 'not sent').to.equal(0);
    } finally {
      process.removeListener('uncaughtException', onError);
    }
  });
});
