import { expect } from 'chai';
import { describeVariables } from '../../../agent/config/config.js';

describe('.env.example', () => {
  it('documents every variable the agent reads', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile('.env.example', 'utf8');
    for (const v of describeVariables()) expect(text, v.env).to.match(new RegExp(`^#? ?${v.env}=`, 'm'));
  });
});
