import { expect } from 'chai';
import { HttpMasterClient } from '../../../master/client.js';
import { systemClock } from '../../../supervisor/clock.js';
import { LogSink } from '../../helpers/log-sink.js';

describe('master client: a request whose owner has already ended', () => {
  it('is not sent and comes back as an aborted transient failure, without an uncaught error', async () => {
    const sink = new LogSink();
    const client = new HttpMasterClient({
      baseUrl: 'http://127.0.0.1:9',
      apiKey: 'k'.repeat(43),
      access: undefined,
      timeoutMs: 2000,
      caFile: undefined,
      userAgent: 'spec',
      clock: systemClock,
      log: sink.log,
      redactor: sink.redactor,
    });
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
