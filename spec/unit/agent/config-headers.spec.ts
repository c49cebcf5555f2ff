import { expect } from 'chai';
import { configError } from '../../helpers/config-error.js';

const base = { DOCKFLARE_MASTER_URL: 'https://dockflare.example.com', DOCKFLARE_API_KEY: 'k'.repeat(43) };

describe('agent/config: values that go into request headers', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['a key with a space', { ...base, DOCKFLARE_API_KEY: 'two words' }, 'DOCKFLARE_API_KEY'],
    [
      'an Access id with a tab',
      { ...base, CF_ACCESS_CLIENT_ID: 'x\t.access', CF_ACCESS_CLIENT_SECRET: 's' },
      'CF_ACCESS_CLIENT_ID',
    ],
    [
      'an Access secret with a control character',
      { ...base, CF_ACCESS_CLIENT_ID: 'x.access', CF_ACCESS_CLIENT_SECRET: 'sec\u0001ret' },
      'CF_ACCESS_CLIENT_SECRET',
    ],
  ];
  for (const [what, env, variable] of cases) {
    it(`rejects ${what}, naming ${variable} and not the value`, () => {
      const err = configError(env);
      expect(err.variable).to.equal(variable);
      expect(err.reason).to.match(/printable ASCII/);
      expect(err.message).not.to.match(/two words|sec|\t/);
    });
  }
});
