import { expect } from 'chai';
import { Redactor } from '../../../log/redact.js';
import { createLogger } from '../../../log/logger.js';
import { LogSink } from '../../helpers/log-sink.js';

const API_KEY = 'kq3Xr8mV1pZ0aB7cD9eF2gH4iJ6kL8mN0oP2qR4sT6u';
const TUNNEL_TOKEN = 'eyJhIjoiMTIzNCIsInQiOiI1Njc4IiwicyI6Ijk5OTkifQ==';
const ACCESS_SECRET = 'f00dfacecafebeef0123456789abcdef';
const UNKNOWN_BEARER = 'never-registered-bearer-value-123';

describe('log/logger', () => {
  it('keeps secrets out of every line, whatever field or error carries them', () => {
    const redactor = new Redactor([API_KEY, ACCESS_SECRET]);
    const sink = new LogSink(redactor);
    redactor.addSecret(TUNNEL_TOKEN);
    const cause = new Error(
      `request to https://admin:pa55word@master.example.com failed with Authorization: Bearer ${UNKNOWN_BEARER}`,
    );
    const err = new Error(`register failed for key ${API_KEY}`, { cause });
    sink.log.error({ err }, 'registration failed');
    sink.log.info(
      { headers: { Authorization: `Bearer ${API_KEY}`, 'CF-Access-Client-Secret': ACCESS_SECRET } },
      'request',
    );
    sink.log.info(
      { body: { agent: { api_key: 'zzzzzzzzzzzz-unknown-key', tunnel_token: TUNNEL_TOKEN } } },
      'v1 register reply',
    );
    sink.log.warn(
      { env: [`TUNNEL_TOKEN=${TUNNEL_TOKEN}`], cmd: ['cloudflared', '--token', 'anothertokenvalue1234'] },
      'container spec',
    );
    sink.log.info({ text: JSON.stringify({ token: 'json-encoded-token-value' }) }, 'nested json');
    expect(sink.lines).to.have.length(5);
    for (const line of sink.lines) {
      for (const secret of [
        API_KEY,
        TUNNEL_TOKEN,
        ACCESS_SECRET,
        UNKNOWN_BEARER,
        'pa55word',
        'zzzzzzzzzzzz-unknown-key',
        'anothertokenvalue1234',
        'json-encoded-token-value',
      ]) {
        expect(line, `line leaks ${secret}`).not.to.include(secret);
      }
    }
    expect(sink.lines.join('\n')).to.include('[REDACTED]');
  });

  it('serialises the error cause chain', () => {
    const sink = new LogSink();
    const root = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    sink.log.error({ err: new Error('poll failed', { cause: new Error('fetch failed', { cause: root }) }) }, 'x');
    const err = sink.records[0]!.err as {
      message: string;
      cause: { message: string; cause: { message: string; code: string } };
    };
    expect(err.message).to.equal('poll failed');
    expect(err.cause.message).to.equal('fetch failed');
    expect(err.cause.cause).to.include({ message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' });
  });

  it('survives circular fields', () => {
    const sink = new LogSink();
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    sink.log.info({ loop }, 'circular');
    expect(sink.records[0]!.loop).to.deep.equal({ a: 1, self: '[Circular]' });
  });

  it('honours the configured level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', redactor: new Redactor(), write: (l) => lines.push(l) });
    log.info('dropped');
    log.warn('kept');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).to.deep.equal(['kept']);
  });

  it('does not scrub values too short to be secrets', () => {
    const r = new Redactor(['abc']);
    expect(r.redact('abc def')).to.equal('abc def');
  });
});
