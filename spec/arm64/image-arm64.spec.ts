import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { testDocker } from '../helpers/docker.js';
import { buildAgentImage } from '../helpers/agent-image.js';

const run = promisify(execFile);
const IMAGE = 'dockflare-agent:arm64-smoke';
const BASE = 'local/node-arm64:dfa';

/**
 * The same Dockerfile built for linux/arm64 (Raspberry Pis, NAS boxes) under QEMU user emulation, on an offline arm64
 * Node 22 base (scripts/make-node-base-arm64.sh), and run there. Node 22 is also what the official base gives users.
 */
describe('image: the Dockerfile built for linux/arm64', function () {
  this.timeout(900_000);
  before(async () => {
    if (!existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64'))
      throw new Error('no QEMU arm64 handler: apt-get install qemu-user-static binfmt-support (as root)');
    await buildAgentImage({
      baseScript: 'scripts/make-node-base-arm64.sh',
      base: BASE,
      tag: IMAGE,
      platform: 'linux/arm64',
    });
  });

  it('is an arm64 image whose entrypoint starts the agent: `version` prints it and exits 0, nothing on stderr', async () => {
    expect((await testDocker().getImage(IMAGE).inspect()).Architecture).to.equal('arm64');
    const { stdout, stderr } = await run('docker', ['run', '--rm', '--platform', 'linux/arm64', IMAGE, 'version']);
    expect(stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
    expect(stderr, 'Node 22 under the image entrypoint').to.equal('');
    const { stdout: arch } = await run('docker', [
      'run',
      '--rm',
      '--platform',
      'linux/arm64',
      '--entrypoint',
      'node',
      IMAGE,
      '-p',
      'process.arch',
    ]);
    expect(arch.trim()).to.equal('arm64');
  });
});
