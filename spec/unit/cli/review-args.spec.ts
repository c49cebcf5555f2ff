import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { review } from '../../../cli/review.js';
import { EXIT } from '../../../agent/exit-codes.js';

describe('cli/review: arguments and files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-review-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const call = async (args: string[]): Promise<{ code: number; err: string }> => {
    let err = '';
    const code = await review(
      args,
      () => undefined,
      (s) => {
        err += s;
      },
    );
    return { code, err };
  };

  it('--html without a file name is a usage error, not a silent success', async () => {
    const log = path.join(dir, 'agent.log');
    await writeFile(log, '');
    expect(await call([log, '--html'])).to.deep.equal({ code: EXIT.usage, err: 'review: --html needs a file name\n' });
    expect((await call([log, '--html', '--json'])).code, 'an option is not a file name').to.equal(EXIT.usage);
  });

  it('an unreadable log is EX_NOINPUT (66) and an unwritable --html target EX_CANTCREAT (73), not a crash', async () => {
    expect((await call([path.join(dir, 'missing.log')])).code).to.equal(EXIT.noInput);
    const log = path.join(dir, 'agent.log');
    await writeFile(log, '');
    const out = await call([log, '--html', path.join(dir, 'no', 'such', 'dir', 'r.html')]);
    expect(out.code).to.equal(EXIT.cantCreate);
    expect(out.err).to.match(/^review: cannot write /);
  });
});
