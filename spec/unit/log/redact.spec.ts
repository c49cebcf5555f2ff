import { expect } from 'chai';
import { MAX_LEARNED_SECRETS, REDACTED, Redactor } from '../../../log/redact.js';

const token = (i: number): string => `tunnel-token-${String(i).padStart(4, '0')}-eyJhIjoiYiIsInQiOiJjIn0=`;

describe('Redactor', () => {
  it('scrubs given and learned values, raw and JSON-escaped, and ignores values too short to scrub', () => {
    const r = new Redactor(['api-key"0123456789']);
    r.addSecret(token(1));
    r.addSecret('abc');
    const line = JSON.stringify({ msg: `api-key"0123456789 and ${token(1)}`, note: 'abc' });
    expect(r.redact(line)).to.equal(JSON.stringify({ msg: `${REDACTED} and ${REDACTED}`, note: 'abc' }));
  });

  it('learns only token-shaped values: nothing that could stand for a piece of a log line', () => {
    const r = new Redactor();
    for (const poison of [
      '"level":30',
      '"msg":"',
      '","',
      'status',
      'dockflare-agent',
      'a'.repeat(19),
      'x y'.repeat(20),
    ])
      r.addSecret(poison);
    expect(r.size).to.equal(0);
    const line = JSON.stringify({ level: 30, msg: 'status', name: 'dockflare-agent' });
    expect(JSON.parse(r.redact(line))).to.deep.equal({ level: 30, msg: 'status', name: 'dockflare-agent' });
    r.addSecret(token(2));
    expect(r.size).to.equal(1);
  });

  it(`keeps at most ${MAX_LEARNED_SECRETS} learned values, dropping the least recently learned, never a given one`, () => {
    const r = new Redactor(['api-key-0123456789']);
    for (let i = 0; i < 10 * MAX_LEARNED_SECRETS; i++) {
      r.addSecret(token(i));
      if (i % 7 === 0) r.addSecret(token(0)); // The token in use, read again and again.
    }
    expect(r.size, 'bounded').to.equal(1 + MAX_LEARNED_SECRETS);
    expect(r.redact(`a ${token(0)}`), 'the one learned again stays').to.equal(`a ${REDACTED}`);
    expect(r.redact(`b ${token(10 * MAX_LEARNED_SECRETS - 1)}`), 'the newest stays').to.equal(`b ${REDACTED}`);
    expect(r.redact(`c ${token(1)}`), 'an old one went').to.equal(`c ${token(1)}`);
    expect(r.redact('d api-key-0123456789'), 'the key is never dropped').to.equal(`d ${REDACTED}`);
  });

  it('a given value learned again does not take a learned place', () => {
    const r = new Redactor(['api-key-0123456789']);
    r.addSecret('api-key-0123456789');
    expect(r.size).to.equal(1);
  });

  it('scrubs a secret whole when a part of it is a secret too (a key file read half written, then whole)', () => {
    const key = 'kq3Xr8mV1pZ0aB7cD9eF2gH4iJ6kL8mN0oP2qR4sT6u';
    const r = new Redactor(['an-old-api-key-0123']);
    r.pin(key.slice(0, 12));
    r.pin(key);
    r.addSecret(`${key}-and-more-token`);
    expect(r.redact(`key ${key} token ${key}-and-more-token part ${key.slice(0, 12)}`)).to.equal(
      `key ${REDACTED} token ${REDACTED} part ${REDACTED}`,
    );
  });
});
