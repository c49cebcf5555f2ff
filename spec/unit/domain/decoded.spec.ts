import { expect } from 'chai';
import * as v from 'valibot';
import { decodeWith, jsonObject, jsonRecord } from '../../../domain/decoded.js';
import { decodeEventReply, decodeRegisterReply } from '../../../master/decoders.js';
import { decodeTunnelState } from '../../../persistence/formats.js';

const SECRET = 'eyJhIjoiMTIzNDU2Nzg5MCJ9-not-for-logs';

describe('domain/decoded', () => {
  it('refuses a JSON array where an object or a record is expected, at any depth', () => {
    const schema = jsonObject({ inner: v.optional(jsonObject({})), labels: v.optional(jsonRecord(v.string())) });
    expect(decodeWith(schema, [])).to.deep.equal({ ok: false, reason: '(root): expected object' });
    expect(decodeWith(schema, { inner: [] })).to.deep.equal({ ok: false, reason: 'inner: expected object' });
    expect(decodeWith(schema, { labels: ['a'] })).to.deep.equal({ ok: false, reason: 'labels: expected object' });
    expect(decodeWith(schema, { labels: { a: 'b' } })).to.deep.equal({ ok: true, value: { labels: { a: 'b' } } });
  });

  it('a reply that is an array is not an event or registration reply', () => {
    expect(decodeEventReply([]).ok).to.equal(false);
    expect(decodeRegisterReply([{ agent_id: 'x' }]).ok).to.equal(false);
  });

  it('says what was expected, never what was there (a state file field may hold a token)', () => {
    const states = [
      `{"token": null, "id": null, "name": null, "desired_state": "${SECRET}"}`,
      `{"token": null, "id": ["${SECRET}"], "name": null}`,
      `{"token": {"t": "${SECRET}"}}`,
    ];
    for (const text of states) {
      const decoded = decodeTunnelState(text);
      expect(decoded.ok, text).to.equal(false);
      if (!decoded.ok) {
        expect(decoded.reason).not.to.include(SECRET.slice(0, 12));
        expect(decoded.reason).to.match(/^[a-z_.()]+: expected /);
      }
    }
  });

  it("keeps a schema's own message", () => {
    const id = v.pipe(v.string(), v.regex(/^[a-z]+$/, 'not an id'));
    expect(decodeWith(jsonObject({ id }), { id: 'A/..' })).to.deep.equal({ ok: false, reason: 'id: not an id' });
  });
});
