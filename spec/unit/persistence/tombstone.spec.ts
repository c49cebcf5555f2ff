import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { FileTombstoneStore, finalAckOwed, readTombstone, removeTombstone } from '../../../persistence/tombstone.js';

describe('persistence/tombstone', () => {
  let dir: string;
  let file: string;
  const at = '2026-12-07T10:00:00Z';

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-tomb-'));
    file = path.join(dir, 'decommission.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts enrolled without a file, and writes a private tombstone in the upstream schema', async () => {
    const store = await FileTombstoneStore.open(file);
    expect(store.lifecycle).to.equal('enrolled');
    const w = await store.write('prepared', 'op-1', 'agent-1', at);
    expect(w).to.include({ ok: true, changed: true });
    expect(store.lifecycle).to.equal('prepared');
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).to.deep.equal({
      schema_version: 1,
      operation_id: 'op-1',
      agent_id: 'agent-1',
      phase: 'prepared',
      requested_self_action: 'stop',
      prepared_at: at,
      finalized_at: null,
      // Ours beside the upstream fields; an upstream reader ignores it.
      final_acknowledged_at: null,
    });
    expect(await readFile(file, 'utf8')).not.to.match(/token|key/i);
    expect(await readdir(dir), 'written through a temp file renamed in place: nothing else left').to.deep.equal([
      'decommission.json',
    ]);
  });

  it('moves prepared to finalized, keeps the prepare time, and is read back after a restart', async () => {
    const store = await FileTombstoneStore.open(file);
    await store.write('prepared', 'op-1', 'agent-1', at);
    const w = await store.write('finalized', 'op-1', 'agent-1', '2026-12-07T10:05:00Z');
    expect(w.ok).to.equal(true);
    const again = await FileTombstoneStore.open(file);
    expect(again.lifecycle).to.equal('decommissioned');
    expect(again.current).to.include({ preparedAt: at, finalizedAt: '2026-12-07T10:05:00Z' });
  });

  it('refuses another operation, another agent and a finalized one taken back, and leaves the file as it was', async () => {
    const store = await FileTombstoneStore.open(file);
    await store.write('prepared', 'op-1', 'agent-1', at);
    const before = await readFile(file, 'utf8');
    expect(await store.write('prepared', 'op-2', 'agent-1', at)).to.include({ ok: false, conflict: true });
    expect(await store.write('prepared', 'op-1', 'agent-2', at)).to.include({ ok: false, conflict: true });
    await store.write('finalized', 'op-1', 'agent-1', at);
    const finalized = await readFile(file, 'utf8');
    expect(await store.write('prepared', 'op-1', 'agent-1', at)).to.include({ ok: false, conflict: true });
    expect(await readFile(file, 'utf8')).to.equal(finalized);
    expect(before).not.to.equal(finalized);
  });

  it('writes the same phase of the same operation once (a re-served command changes nothing)', async () => {
    const store = await FileTombstoneStore.open(file);
    await store.write('prepared', 'op-1', 'agent-1', at);
    const w = await store.write('prepared', 'op-1', 'agent-1', '2026-12-08T00:00:00Z');
    expect(w).to.include({ ok: true, changed: false });
    expect(JSON.parse(await readFile(file, 'utf8'))).to.include({ prepared_at: at });
  });

  it('treats a file it cannot decode as decommissioned and never overwrites it', async () => {
    await writeFile(file, '{"schema_version": 1, "phase": "gone"');
    const store = await FileTombstoneStore.open(file);
    expect(store.lifecycle).to.equal('decommissioned');
    expect(store.problem).to.match(/not JSON/);
    expect(await store.write('prepared', 'op-1', 'agent-1', at)).to.include({ ok: false, conflict: true });
    expect(await readFile(file, 'utf8')).to.equal('{"schema_version": 1, "phase": "gone"');
  });

  it('reports a failed write without changing what it holds', async () => {
    const store = await FileTombstoneStore.open(path.join(dir, 'missing-dir', 'decommission.json'));
    const w = await store.write('prepared', 'op-1', 'agent-1', at);
    expect(w).to.include({ ok: false, conflict: false, reason: 'ENOENT' });
    expect(store.lifecycle).to.equal('enrolled');
  });

  it('is removed on request, saying whether there was one', async () => {
    const store = await FileTombstoneStore.open(file);
    await store.write('prepared', 'op-1', 'agent-1', at);
    expect(await removeTombstone(file)).to.equal(true);
    expect((await readTombstone(file)).kind).to.equal('none');
    expect(await removeTombstone(file)).to.equal(false);
  });

  it('a finalized tombstone owes the final acknowledgement until it is recorded; an upstream one owes nothing', async () => {
    const store = await FileTombstoneStore.open(file);
    await store.write('prepared', 'op-1', 'agent-1', at);
    await store.write('finalized', 'op-1', 'agent-1', at);
    expect(finalAckOwed((await FileTombstoneStore.open(file)).current), 'owed after a restart').to.equal(true);
    await store.acknowledged('2026-12-07T10:02:00Z');
    expect(finalAckOwed((await FileTombstoneStore.open(file)).current)).to.equal(false);
    const upstream = {
      schema_version: 1,
      operation_id: 'op-2',
      agent_id: 'agent-1',
      phase: 'finalized',
      requested_self_action: 'stop',
      prepared_at: at,
      finalized_at: at,
    };
    await writeFile(file, JSON.stringify(upstream));
    const read = await FileTombstoneStore.open(file);
    expect([read.lifecycle, finalAckOwed(read.current)]).to.deep.equal(['decommissioned', false]);
  });
});
