import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { decommissionVerb, tombstonePath } from '../../../cli/decommission.js';
import { FileTombstoneStore } from '../../../persistence/tombstone.js';

describe('cli: decommission status and clear', () => {
  let dir: string;
  let out: string;
  let err: string;
  const verb = (...args: string[]) =>
    decommissionVerb(
      args,
      { AGENT_DATA_DIR: dir },
      (l) => (out += l),
      (l) => (err += l),
    );

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-cli-decom-'));
    out = '';
    err = '';
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the file where the agent writes it', () => {
    expect(tombstonePath({ AGENT_DATA_DIR: '/data' })).to.equal('/data/decommission.json');
    expect(tombstonePath({ AGENT_DATA_DIR: '/data', DECOMMISSION_TOMBSTONE_PATH: '/x/t.json' })).to.equal('/x/t.json');
    expect(tombstonePath({})).to.equal('/app/data/decommission.json');
  });

  it('status says there is none, then shows the lifecycle and the operation', async () => {
    expect(await verb('status')).to.equal(0);
    expect(out).to.match(/no tombstone at .*not being decommissioned/);
    const store = await FileTombstoneStore.open(path.join(dir, 'decommission.json'));
    await store.write('prepared', 'op-1', 'agent-1', '2026-12-07T10:00:00Z');
    await store.write('finalized', 'op-1', 'agent-1', '2026-12-07T10:01:00Z');
    out = '';
    expect(await verb('status')).to.equal(0);
    expect(out)
      .to.match(/lifecycle\s+decommissioned/)
      .and.match(/operation\s+op-1/)
      .and.match(/finalized at\s+2026/);
  });

  it('clear warns and changes nothing without --yes; with it the file goes', async () => {
    const file = path.join(dir, 'decommission.json');
    const store = await FileTombstoneStore.open(file);
    await store.write('prepared', 'op-1', 'agent-1', '2026-12-07T10:00:00Z');
    expect(await verb('clear')).to.equal(64);
    expect(err)
      .to.match(/key revoked/)
      .and.match(/Nothing was changed/);
    expect(await readFile(file, 'utf8')).to.include('op-1');
    expect(await verb('clear', '--yes')).to.equal(0);
    expect(out).to.match(/^removed /);
    expect(await verb('status')).to.equal(0);
    expect(out).to.match(/no tombstone/);
  });

  it('an unusable file is named with its reason; a wrong word is a usage error', async () => {
    await writeFile(path.join(dir, 'decommission.json'), 'garbage');
    expect(await verb('status')).to.equal(66);
    expect(err).to.match(/cannot be used \(not JSON/);
    expect(await verb('wipe')).to.equal(64);
  });
});
