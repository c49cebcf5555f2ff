import { mkdir, mkdtemp, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Outbox } from '../../../persistence/outbox.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const start = (id: string) => ({ type: 'container_start' as const, container: { id, name: id, status: 'running', labels: {} }, timestamp: '2026-11-29T10:00:00.000000+00:00' });

describe('persistence/outbox', () => {
  let dir: string;
  let sink: LogSink;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-outbox-'));
    sink = new LogSink();
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('clears the temp file of an interrupted write at open and keeps the last good queue', async () => {
    const first = await Outbox.open(dir, 10, sink.log, new ManualClock());
    first.push(start('a'));
    await first.persist();
    await writeFile(path.join(dir, '.outbox.json.tmp-12345-abc'), '{"version": 1, "entries": [');
    const again = await Outbox.open(dir, 10, sink.log, new ManualClock());
    expect(again.head()?.event).to.deep.equal(start('a'));
    expect(await readdir(dir)).to.deep.equal(['outbox.json']);
    expect(sink.events('state_temp_removed')[0]!.files).to.deep.equal(['.outbox.json.tmp-12345-abc']);
  });

  it('says once that it cannot write, at error; repeats at debug; and that it can again', async () => {
    const box = await Outbox.open(dir, 10, sink.log, new ManualClock());
    await mkdir(path.join(dir, 'outbox.json')); // A directory where the file goes: every write fails.
    for (const id of ['a', 'b', 'c']) {
      box.push(start(id));
      await box.persist();
    }
    expect(sink.events('outbox_write_failed').map((r) => r.level)).to.deep.equal([50, 20, 20]);
    await rmdir(path.join(dir, 'outbox.json'));
    box.push(start('d'));
    await box.persist();
    expect(sink.events('outbox_write_recovered')).to.have.length(1);
    expect((await Outbox.open(dir, 10, sink.log, new ManualClock())).size).to.equal(4);
  });
});
