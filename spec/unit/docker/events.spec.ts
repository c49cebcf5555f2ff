import { expect } from 'chai';
import { parseEventLine } from '../../../docker/events.js';

const ID = 'a'.repeat(64);

describe('docker/events: a line Docker would not send is dropped, not thrown', () => {
  for (const [what, time] of [
    ['a fraction of a second', '1.5'],
    ['a number over the double range (Infinity)', '1e400'],
  ] as const) {
    it(`time with ${what} and no timeNano`, () => {
      const line = `{"Type":"container","Action":"start","Actor":{"ID":"${ID}","Attributes":{}},"time":${time}}`;
      expect(parseEventLine(line)).to.equal(null);
    });
  }

  it('whole seconds without timeNano still give the time in nanoseconds', () => {
    const line = `{"Type":"container","Action":"start","Actor":{"ID":"${ID}","Attributes":{}},"time":1700000000}`;
    expect(parseEventLine(line)?.timeNano).to.equal(1_700_000_000_000_000_000n);
  });
});
