import { expect } from 'chai';
import { MAX_LEARNED_SECRETS, REDACTED, Redactor } from '../../../log/redact.js';

const token = (i: number): string => `tunnel-token-${String(i).padStart(4, '0')}-eyJhIjoiYiJ9`;

describe('Redactor', () => {
  it('scrubs given and learned values, raw and JSON-escaped, and ignores values too short to scrub', () => {
    const r = new Redactor(['api-key-0123456789']);
    r.addSecret('tok"en-with-quote');
    r.addSecret('abc');
    const line = JSON.stringify({ msg: 'api-key-0123456789 and tok"en-with-quote', note: 'abc' });
    expect(r.redact(line)).to.equal(JSON.stringify({ msg: `${REDACTED} and ${REDACTED}`, note: 'abc' }));
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
});
