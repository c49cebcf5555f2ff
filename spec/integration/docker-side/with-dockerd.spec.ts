import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { testDocker } from '../../helpers/docker.js';
import { removeTunnelContainer, runLabelled, TUNNEL_CONTAINER } from '../../helpers/docker-fixtures.js';

const run = promisify(execFile);

/** The script behind `npm test` and `npm run demo`, pointed at this engine as if it were the user's own. */
async function withDockerdOnThisEngine(): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run('bash', ['scripts/with-dockerd.sh', 'true'], {
      env: { ...process.env, DOCKER_HOST: process.env.DOCKER_HOST ?? '', DOCKERTEST_NO_PRIVATE: '1' },
      timeout: 60_000,
    });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('scripts/with-dockerd.sh on an engine it did not start', function () {
  this.timeout(90_000);
  const docker = testDocker();
  afterEach(async () => {
    await removeTunnelContainer(docker);
  });

  it("refuses an engine that has a dockflare-agent-tunnel container: the specs and the demo would remove a real agent's tunnel", async () => {
    await runLabelled(docker, { name: TUNNEL_CONTAINER, labels: {}, start: false });
    const { code, stderr } = await withDockerdOnThisEngine();
    expect(code).to.equal(1);
    expect(stderr).to.match(/has a container named dockflare-agent-tunnel/);
    expect((await docker.getContainer(TUNNEL_CONTAINER).inspect()).Name, 'left alone').to.equal(`/${TUNNEL_CONTAINER}`);
  });

  it('uses such an engine when it has none', async () => {
    const { code, stderr } = await withDockerdOnThisEngine();
    expect(code, stderr).to.equal(0);
    expect(stderr).to.match(/using the engine at/);
  });
});
