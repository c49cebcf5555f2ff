import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { startAgentProcess } from '../helpers/agent-process.js';

const KEY = 'kq3Xr8mV1pZ0aB7cD9eF2gH4iJ6kL8mN0oP2qR4sT6u';

describe('cli: the agent as a process', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'dfa-cli-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('exits 78 with one line naming the variable on bad configuration, and never prints the key', async () => {
    const agent = startAgentProcess([], {
      DOCKFLARE_MASTER_URL: 'https://m.example.com',
      DOCKFLARE_API_KEY: KEY,
      REPORT_INTERVAL_SECONDS: 'soon',
      AGENT_DATA_DIR: dataDir,
    });
    const { code } = await agent.exited;
    expect(code).to.equal(78);
    expect(agent.stderr().trimEnd().split('\n')).to.deep.equal([
      'dockflare-agent: configuration error: REPORT_INTERVAL_SECONDS: must be a number',
    ]);
    expect(agent.lines).to.be.empty;
    expect(agent.stderr()).not.to.include(KEY);
  });

  it('exits 78 with one line naming DOCKFLARE_API_KEY_FILE when the key file cannot be read', async () => {
    const agent = startAgentProcess([], {
      DOCKFLARE_MASTER_URL: 'https://m.example.com',
      DOCKFLARE_API_KEY_FILE: path.join(dataDir, 'no-such-key'),
      AGENT_DATA_DIR: dataDir,
    });
    expect((await agent.exited).code).to.equal(78);
    expect(agent.stderr().trimEnd().split('\n')).to.deep.equal([
      'dockflare-agent: configuration error: DOCKFLARE_API_KEY_FILE: cannot be read (ENOENT)',
    ]);
  });

  it('exits 78 when the master URL is missing', async () => {
    const agent = startAgentProcess(['run'], { DOCKFLARE_API_KEY: KEY, AGENT_DATA_DIR: dataDir });
    expect((await agent.exited).code).to.equal(78);
    expect(agent.stderr()).to.match(/^dockflare-agent: configuration error: DOCKFLARE_MASTER_URL: is required\n$/);
  });

  it('runs from environment variables alone and shuts down cleanly on SIGTERM within the budget', async () => {
    const agent = startAgentProcess([], {
      DOCKFLARE_MASTER_URL: 'http://127.0.0.1:9',
      DOCKFLARE_API_KEY: KEY,
      AGENT_DATA_DIR: path.join(dataDir, 'nested'),
    });
    await agent.waitFor((r) => r.event === 'agent_started');
    await agent.waitFor((r) => r.event === 'actor_started' && r.child === 'workers');
    const sent = Date.now();
    agent.child.kill('SIGTERM');
    const { code, at } = await agent.exited;
    expect(code, `${JSON.stringify(agent.lines.slice(-6))}\n${agent.stderr()}`).to.equal(0);
    expect(at - sent).to.be.below(8000);
    expect(agent.lines.find((r) => r.event === 'shutdown_complete')).to.include({ outcome: 'ok', exitCode: 0 });
    // Reverse start order: the workers' children, the workers, then registration.
    expect(agent.lines.filter((r) => r.event === 'actor_stopped').map((r) => r.child)).to.deep.equal([
      'command-poller',
      'event-watcher',
      'reporter',
      'tunnel-keeper',
      'workers',
      'registration',
    ]);
    const all = JSON.stringify(agent.lines);
    expect(all).not.to.include(KEY);
    expect(await readdir(path.join(dataDir, 'nested'))).to.deep.equal([]);
  });

  it('refuses credentials in the master URL without printing them', async () => {
    const agent = startAgentProcess([], {
      DOCKFLARE_MASTER_URL: 'https://admin:s3cr3tpass@m.example.com',
      DOCKFLARE_API_KEY: KEY,
      AGENT_DATA_DIR: dataDir,
    });
    expect((await agent.exited).code).to.equal(78);
    expect(agent.stderr()).to.include('DOCKFLARE_MASTER_URL').and.not.include('s3cr3tpass');
  });

  it('rejects an unknown verb with exit 64 and the usage', async () => {
    const agent = startAgentProcess(['frobnicate'], {});
    expect((await agent.exited).code).to.equal(64);
    expect(agent.stderr()).to.match(/unknown verb 'frobnicate'[\s\S]*usage: dockflare-agent/);
  });

  it('rejects an argument a verb does not take with exit 64, instead of ignoring it', async () => {
    const agent = startAgentProcess(['healthcheck', '--port', '9'], {});
    expect((await agent.exited).code).to.equal(64);
    expect(agent.stderr()).to.match(/unexpected argument '--port'/);
  });
});
