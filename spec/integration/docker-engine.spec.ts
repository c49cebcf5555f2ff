import { expect } from 'chai';
import { CLOUDFLARED_IMAGE, demuxLogs, TEST_LABEL, testDocker } from '../helpers/docker.js';

/** The test engine and stand-in images every Docker-side spec relies on. */
describe('test Docker Engine', () => {
  const docker = testDocker();

  it('answers on the API version the agent must support (1.41 or newer)', async () => {
    const version = await docker.version();
    expect(Number(version.ApiVersion)).to.be.at.least(1.41);
  });

  it('runs the stand-in cloudflared: version line, and refuses to start without TUNNEL_TOKEN', async () => {
    const out = await runOnce(['--version'], []);
    expect(out.code).to.equal(0);
    expect(out.logs).to.match(/^cloudflared version \S+/);
    const refused = await runOnce(['tunnel', '--no-autoupdate', 'run'], []);
    expect(refused.code).to.equal(1);
    expect(refused.logs).to.include('TUNNEL_TOKEN is required');
  });

  async function runOnce(cmd: string[], env: string[]): Promise<{ code: number; logs: string }> {
    const c = await docker.createContainer({
      Image: CLOUDFLARED_IMAGE,
      Cmd: cmd,
      Env: env,
      Labels: { [TEST_LABEL]: 'engine' },
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await c.start();
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      return { code: StatusCode, logs: demuxLogs(await c.logs({ stdout: true, stderr: true })) };
    } finally {
      await c.remove({ force: true });
    }
  }
});
