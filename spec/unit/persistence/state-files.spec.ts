import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { FileStateStore } from '../../../persistence/state-files.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const run = promisify(execFile);
const TOKEN = 'eyJhIjoiYWNjb3VudCIsInQiOiJ0dW5uZWwiLCJzIjoic2VjcmV0In0=';

describe('persistence/state-files', () => {
  let dir: string;
  let sink: LogSink;
  const open = async (): Promise<FileStateStore> =>
    FileStateStore.open({ dir, log: sink.log, clock: new ManualClock(), redactor: sink.redactor });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-state-'));
    sink = new LogSink();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts from defaults when no file exists', async () => {
    const store = await open();
    expect(store.writable).to.equal(true);
    expect(await store.loadAgentId()).to.equal(undefined);
    expect(await store.loadTunnelState()).to.deep.equal({
      token: null,
      id: null,
      name: null,
      desired_state: 'unknown',
    });
  });

  it('round-trips both files, written atomically with mode 0600 and nothing left behind', async () => {
    const store = await open();
    const state = {
      token: TOKEN,
      id: '8d2e6f0a-1b3c-4d5e-9f70-112233445566',
      name: 'nas-01-tunnel',
      desired_state: 'running' as const,
    };
    expect(await store.saveAgentId('3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12')).to.equal(true);
    expect(await store.saveTunnelState(state)).to.equal(true);
    const again = await open();
    expect(await again.loadAgentId()).to.equal('3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12');
    expect(await again.loadTunnelState()).to.deep.equal(state);
    for (const f of ['agent_id.txt', 'tunnel_state.json'])
      expect((await stat(path.join(dir, f))).mode & 0o777, f).to.equal(0o600);
    expect((await readdir(dir)).sort()).to.deep.equal(['agent_id.txt', 'tunnel_state.json']);
  });

  it('writes byte for byte what the original agent writes', async () => {
    const store = await open();
    await store.saveAgentId('3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12');
    await store.saveTunnelState({
      token: TOKEN,
      id: '8d2e6f0a-1b3c-4d5e-9f70-112233445566',
      name: 'näs-01',
      desired_state: 'running',
    });
    expect(await readFile(path.join(dir, 'agent_id.txt'), 'utf8')).to.equal('3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12');
    expect(await readFile(path.join(dir, 'tunnel_state.json'), 'utf8')).to.equal(
      `{"token": "${TOKEN}", "id": "8d2e6f0a-1b3c-4d5e-9f70-112233445566", "name": "n\\u00e4s-01", "desired_state": "running"}`,
    );
    await store.saveTunnelState({ token: null, id: null, name: null, desired_state: 'stopped' });
    expect(await readFile(path.join(dir, 'tunnel_state.json'), 'utf8')).to.equal(
      '{"token": null, "id": null, "name": null, "desired_state": "stopped"}',
    );
  });

  it('reads files written by hand in the original format, trimming the id and ignoring unknown keys', async () => {
    await writeFile(path.join(dir, 'agent_id.txt'), '  3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12\n');
    await writeFile(
      path.join(dir, 'tunnel_state.json'),
      JSON.stringify({ token: TOKEN, id: 'abc', name: 'n', desired_state: 'stopped', future_field: 42 }, null, 2),
      { mode: 0o644 },
    );
    const store = await open();
    expect(await store.loadAgentId()).to.equal('3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12');
    expect(await store.loadTunnelState()).to.deep.equal({
      token: TOKEN,
      id: 'abc',
      name: 'n',
      desired_state: 'stopped',
    });
    expect((await stat(path.join(dir, 'tunnel_state.json'))).mode & 0o777).to.equal(0o600);
    expect(
      sink
        .events('state_mode_tightened')
        .map((r) => path.basename(String(r.file)))
        .sort(),
    ).to.deep.equal(['agent_id.txt', 'tunnel_state.json']);
  });

  it('keeps any id the original agent may have stored: spaces and non-ASCII inside are not corruption', async () => {
    await writeFile(path.join(dir, 'agent_id.txt'), '  nas 01 – büro \n');
    expect(await (await open()).loadAgentId()).to.equal('nas 01 – büro');
    expect(sink.events('state_file_corrupt')).to.deep.equal([]);
  });

  it('moves aside an agent_id.txt whose bytes are not UTF-8', async () => {
    await writeFile(path.join(dir, 'agent_id.txt'), Buffer.from([0x61, 0xff, 0xfe, 0x62]));
    expect(await (await open()).loadAgentId()).to.equal(undefined);
    expect(sink.events('state_file_corrupt')).to.have.length(1);
  });

  it('reads an empty token in tunnel_state.json as no token', async () => {
    await writeFile(
      path.join(dir, 'tunnel_state.json'),
      '{"token": "", "id": "t", "name": "n", "desired_state": "running"}',
    );
    expect((await (await open()).loadTunnelState()).token).to.equal(null);
  });

  it('treats an empty agent_id.txt as no identity', async () => {
    await writeFile(path.join(dir, 'agent_id.txt'), '\n  \n');
    expect(await (await open()).loadAgentId()).to.equal(undefined);
    expect(sink.events('state_file_corrupt')).to.be.empty;
  });

  it('ignores and removes the temp file of a torn write, keeping the last good state', async () => {
    await writeFile(
      path.join(dir, 'tunnel_state.json'),
      '{"token": null, "id": "good", "name": "n", "desired_state": "running"}',
    );
    await writeFile(path.join(dir, '.tunnel_state.json.tmp-4242-deadbeef'), '{"token": null, "id": "half');
    const store = await open();
    expect((await store.loadTunnelState()).id).to.equal('good');
    expect(await readdir(dir)).to.deep.equal(['tunnel_state.json']);
    expect(sink.events('state_temp_removed')[0]!.files).to.deep.equal(['.tunnel_state.json.tmp-4242-deadbeef']);
  });

  it('registers a loaded tunnel token as a secret, so it can never be logged', async () => {
    await writeFile(
      path.join(dir, 'tunnel_state.json'),
      `{"token": "${TOKEN}", "id": null, "name": null, "desired_state": "running"}`,
    );
    await (await open()).loadTunnelState();
    sink.log.info({ leaked: TOKEN }, 'attempt');
    expect(sink.lines.at(-1)).not.to.include(TOKEN);
  });

  it('reports a read-only data directory loudly and keeps running on in-memory state', async function () {
    // Root ignores directory modes, so the probe runs as `nobody` when we are root.
    const asRoot = process.getuid?.() === 0;
    await chmod(dir, 0o755);
    if (!asRoot) await chmod(dir, 0o555);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', path.resolve('spec/fixtures/store-probe.ts'), dir],
      {
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        cwd: process.cwd(),
        env: { ...process.env, HOME: '/tmp' },
      },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const notWritable = lines.find((l) => l.event === 'data_dir_not_writable');
    expect(notWritable, 'a loud start-up error').to.include({ level: 50, dir });
    expect(notWritable, 'says the state will not survive a restart').to.include({ persists: false });
    expect(lines.some((l) => l.event === 'state_write_failed')).to.equal(true);
    expect(lines.at(-1)!.result).to.include({
      writable: false,
      saved: false,
      savedTunnel: false,
      loaded: '3f1c2a9e-5b7d-4e21-9c1a-7d0e8b6f4a12',
      tunnelId: 'tunnel-2',
    });
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('leaves a state file it cannot read as it is: not moved aside, not overwritten, and says so', async () => {
    const asRoot = process.getuid?.() === 0;
    const file = path.join(dir, 'agent_id.txt');
    await writeFile(file, 'the-original-identity', { mode: 0o600 });
    await chmod(dir, 0o777); // Writable for the probe's uid: only the file is out of its reach.
    if (!asRoot) await chmod(file, 0o000);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', path.resolve('spec/fixtures/store-probe.ts'), dir, 'unreadable'],
      {
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        cwd: process.cwd(),
        env: { ...process.env, HOME: '/tmp' },
      },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      lines.find((l) => l.event === 'state_file_unreadable'),
      'a loud error',
    ).to.include({ level: 50, code: 'EACCES' });
    expect(lines.at(-1)!.result).to.deep.equal({ loaded: null, saved: false, again: 'a-new-identity' });
    if (!asRoot) await chmod(file, 0o600);
    expect(await readFile(file, 'utf8'), 'untouched').to.equal('the-original-identity');
    expect((await readdir(dir)).sort()).to.deep.equal(['agent_id.txt']);
  });

  it('writes an identity whose first write failed as soon as the directory takes writes again', async () => {
    const store = await open();
    const blocker = path.join(dir, 'agent_id.txt');
    await mkdir(blocker);
    await writeFile(path.join(blocker, 'x'), 'x'); // A non-empty directory where the file goes: the rename fails.
    expect(await store.saveAgentId('id-from-the-master')).to.equal(false);
    await rm(blocker, { recursive: true });
    expect(await store.loadAgentId(), 'in memory all along').to.equal('id-from-the-master');
    expect(await readFile(blocker, 'utf8'), 'and now on disk').to.equal('id-from-the-master');
  });

  it('never lets a write owed from before land over a newer save of the same file', async () => {
    const tunnel = (token: string) => ({ token, id: 't1', name: 'home', desired_state: 'running' as const });
    for (let round = 0; round < 30; round++) {
      const roundDir = await mkdtemp(path.join(dir, 'r-'));
      const store = await FileStateStore.open({
        dir: roundDir,
        log: sink.log,
        clock: new ManualClock(),
        redactor: sink.redactor,
      });
      const blocker = path.join(roundDir, 'tunnel_state.json');
      await mkdir(blocker);
      await writeFile(path.join(blocker, 'x'), 'x');
      expect(await store.saveTunnelState(tunnel('token-old-0001'))).to.equal(false); // Owed from now on.
      await rm(blocker, { recursive: true });
      // A restarted actor's load pays the debt while the keeper stores a newer token.
      await Promise.all([store.loadAgentId(), store.saveTunnelState(tunnel('token-new-0002'))]);
      expect(JSON.parse(await readFile(blocker, 'utf8')), `round ${round}`).to.include({ token: 'token-new-0002' });
      expect(await store.loadTunnelState()).to.include({ token: 'token-new-0002' });
    }
  });

  it('reads a tunnel_state.json that starts with a byte-order mark', async () => {
    await writeFile(
      path.join(dir, 'tunnel_state.json'),
      `\uFEFF{"token": "${TOKEN}", "id": "t1", "name": "home", "desired_state": "running"}`,
    );
    expect(await (await open()).loadTunnelState()).to.deep.include({
      token: TOKEN,
      id: 't1',
      desired_state: 'running',
    });
    expect(sink.events('state_file_corrupt')).to.deep.equal([]);
  });
});
