import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { TestMaster } from '../master/index.js';
import { CLOUDFLARED_IMAGE, testDocker } from '../helpers/docker.js';
import { pollUntil, waitForTunnelRunning } from '../helpers/docker-fixtures.js';
import { buildAgentImage } from '../helpers/agent-image.js';

const run = promisify(execFile);
const IMAGE = 'dockflare-agent:smoke';
const BASE = 'local/node-base:dfa';
const NAME = 'dfa-image-smoke';
const VOLUME = 'dfa-image-smoke-data';

/** The Dockerfile, built offline against a locally made Node base, run as users run it. */
describe('image: the Dockerfile built and run against the test master', function () {
  this.timeout(600_000);
  const docker = testDocker();
  let master: TestMaster | undefined;

  before(async () => {
    await buildAgentImage({ baseScript: 'scripts/make-node-base.sh', base: BASE, tag: IMAGE });
  });
  afterEach(async () => {
    await docker
      .getContainer(NAME)
      .remove({ force: true })
      .catch(() => undefined);
    await docker
      .getContainer('dockflare-agent-tunnel')
      .remove({ force: true })
      .catch(() => undefined);
    await docker
      .getVolume(VOLUME)
      .remove()
      .catch(() => undefined);
    await master?.stop();
    master = undefined;
  });

  it('declares a HEALTHCHECK through the agent itself, the data volume, and user 65532', async () => {
    const info = await docker.getImage(IMAGE).inspect();
    expect(info.Config.Healthcheck?.Test).to.deep.equal([
      'CMD',
      'node',
      '/app/dist/dockflare-agent.mjs',
      'healthcheck',
    ]);
    expect(info.Config.User).to.equal('65532:65532');
    expect(info.Config.Volumes).to.have.property('/app/data');
    expect(info.Config.Entrypoint).to.deep.equal(['/usr/bin/tini', '--', 'node', '/app/dist/dockflare-agent.mjs']);
  });

  it('carries no package manager and no setuid or setgid binary', async () => {
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      '--entrypoint',
      '/bin/sh',
      IMAGE,
      '-c',
      'for b in npm npx corepack yarn; do command -v $b; done; ls /usr/local/lib/node_modules 2>/dev/null; find / -xdev -perm /6000 -type f 2>/dev/null; echo end',
    ]);
    expect(stdout.trim().split('\n')).to.deep.equal(['end']);
  });

  it('registers and heartbeats as uid 65532, keeps its id across a restart, turns healthy, and stops within 10 s removing the tunnel', async () => {
    master = await TestMaster.start({ mode: 'v1' });
    const socket = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
    const socketGid = (await stat(socket)).gid;
    const port = String(21000 + Math.floor(Math.random() * 9000));
    const container = await docker.createContainer({
      name: NAME,
      Image: IMAGE,
      Env: [
        `DOCKFLARE_MASTER_URL=${master.url}`,
        `DOCKFLARE_API_KEY=${master.generateKey()}`,
        `CLOUDFLARED_IMAGE=${CLOUDFLARED_IMAGE}`,
        'CLOUDFLARED_NETWORK_NAME=dfa-smoke-net',
        `HEALTH_CHECK_PORT=${port}`,
        'REPORT_INTERVAL_SECONDS=1',
        'COMMAND_POLL_INTERVAL_SECONDS=1',
      ],
      Healthcheck: { Interval: 1e9, Timeout: 3e9, StartPeriod: 1e9, Retries: 2 },
      HostConfig: {
        NetworkMode: 'host',
        Binds: [`${VOLUME}:/app/data`, `${socket}:/var/run/docker.sock`],
        GroupAdd: [String(socketGid)],
      },
    });
    await container.start();
    const reg = await master.waitFor(
      (r) => r.endpoint === 'register' && r.status >= 200 && r.status < 300,
      60_000,
      'registration from the image',
    );
    const agentId = (reg.response as { agent_id: string }).agent_id;
    await master.waitFor(
      (r) => r.endpoint === 'events' && (r.body as { type?: string }).type === 'heartbeat',
      20_000,
      'a heartbeat',
    );
    // The runtime flags must not make V8 or Node print anything of their own (users read these logs).
    const stderr = (await container.logs({ stdout: false, stderr: true, follow: false })).toString('utf8');
    expect(stderr, 'stderr of the agent').not.to.match(/warning|error/i);

    const pid = (await container.inspect()).State.Pid;
    const uids = async (p: number): Promise<string> =>
      (await readFile(`/proc/${p}/status`, 'utf8')).match(/^Uid:\s+(\d+)/m)?.[1] ?? '';
    expect(await uids(pid), 'PID 1 (tini)').to.equal('65532');
    const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
    expect(children.length).to.be.at.least(1);
    expect(await uids(children[0]!), 'the agent').to.equal('65532');

    master.enroll(agentId, 'smoke-tunnel');
    await waitForTunnelRunning(docker, 30_000);
    await pollUntil(
      async () => ((await container.inspect()).State.Health?.Status === 'healthy' ? true : undefined),
      60_000,
      'HEALTHCHECK healthy',
    );

    const registrations = master.requests.filter((r) => r.endpoint === 'register').length;
    await container.restart({ t: 10 });
    const again = await master.waitFor(
      (r) =>
        r.endpoint === 'register' &&
        master!.requests.filter((x) => x.endpoint === 'register').indexOf(r) >= registrations,
      60_000,
      'registration after the restart',
    );
    expect((again.body as { agent_id?: string }).agent_id, 'the stored id is proposed again').to.equal(agentId);
    await waitForTunnelRunning(docker, 30_000);

    const began = Date.now();
    await container.stop({ t: 10 });
    const took = Date.now() - began;
    const state = (await container.inspect()).State;
    expect(took, 'docker stop').to.be.below(10_000);
    expect(state.ExitCode).to.equal(0);
    const tunnel = await docker
      .getContainer('dockflare-agent-tunnel')
      .inspect()
      .catch((e: unknown) => (e as { statusCode?: number }).statusCode);
    expect(tunnel, 'tunnel container removed on stop').to.equal(404);
  });

  it('validates docker-compose.yml with the documented .env', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-compose-'));
    try {
      await copyFile('docker-compose.yml', path.join(dir, 'docker-compose.yml'));
      await copyFile('.env.example', path.join(dir, '.env'));
      // Substitution prefers the shell's variables: give compose only what a user's shell would have.
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const { stdout } = await run(
        'docker-compose',
        ['-f', path.join(dir, 'docker-compose.yml'), '--project-directory', dir, 'config'],
        { env },
      );
      expect(stdout).to.include('DOCKER_HOST: tcp://docker-socket-proxy:2375');
      expect(stdout).to.include('DOCKFLARE_MASTER_URL: https://dockflare.example.com');
      expect(stdout)
        .to.match(/agent_data/)
        .and.match(/\/app\/data/);
      // The proxy: pinned, no EXEC, DELETE=0.
      const proxy = stdout.slice(stdout.indexOf('  docker-socket-proxy:'), stdout.indexOf('  dockflare-agent:'));
      expect(proxy).to.match(/image: tecnativa\/docker-socket-proxy:v\d+\.\d+\.\d+/);
      expect(proxy).not.to.match(/EXEC/);
      expect(proxy).to.match(/DELETE: '?0'?\n/);
      // The hardened defaults of the agent's service, as compose resolves them.
      const agent = stdout.slice(stdout.indexOf('  dockflare-agent:'));
      for (const want of [
        /read_only: true/,
        /cap_drop:\n\s+- ALL/,
        /security_opt:\n\s+- no-new-privileges:true/,
        /ulimits:\n\s+core: 0/,
        /mem_limit: 256m/,
        /pids_limit: 64/,
        /max-size: 10m/,
        /max-file: '3'/,
        /HEALTH_BIND_ADDRESS: 127\.0\.0\.1/,
        /tmpfs:\n\s+- \/tmp/,
      ])
        expect(agent, String(want)).to.match(want);
      await run(
        'docker-compose',
        ['-f', path.join(dir, 'docker-compose.yml'), '--project-directory', dir, 'config', '-q'],
        { env },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
