import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { OutboundEvent } from '../../../domain/outbound.js';
import { Outbox } from '../../../persistence/outbox.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const start = (id: string) => ({
  type: 'container_start' as const,
  container: { id, name: id, status: 'running', labels: {} },
  timestamp: '2026-11-29T10:00:00.000000+00:00',
});

describe('persistence/outbox', () => {
  let dir: string;
  let sink: LogSink;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-outbox-'));
    sink = new LogSink();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

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

  it('moves an unreadable outbox aside instead of overwriting it later', async () => {
    await mkdir(path.join(dir, 'outbox.json')); // Unreadable as a file (EISDIR), as an EACCES one would be.
    await writeFile(path.join(dir, 'outbox.json', 'keep'), 'whatever was there');
    const box = await Outbox.open(dir, 10, sink.log, new ManualClock());
    const [aside] = sink.events('state_file_corrupt');
    expect(aside).to.include({ reason: 'unreadable: EISDIR' });
    box.push(start('a'));
    await box.persist();
    expect(await readFile(path.join(String(aside!.movedTo), 'keep'), 'utf8'), 'kept').to.equal('whatever was there');
    expect(
      (await Outbox.open(dir, 10, sink.log, new ManualClock())).head()?.event,
      'and the new queue is durable',
    ).to.deep.equal(start('a'));
  });

  it('does not read a file far larger than its capacity can need: moves it aside', async () => {
    await writeFile(
      path.join(dir, 'outbox.json'),
      `{"version":1,"entries":[],"dropped":0,"pad":"${'x'.repeat(200 * 1024)}"}`,
    );
    const box = await Outbox.open(dir, 2, sink.log, new ManualClock());
    expect(box.size).to.equal(0);
    expect(String(sink.events('state_file_corrupt')[0]!.reason)).to.match(
      /^\d+ bytes, over the 131072 an outbox of 2 entries can take$/,
    );
    expect((await readdir(dir)).filter((f) => f.startsWith('outbox.json.corrupt-'))).to.have.length(1);
  });
});

describe('persistence/outbox: numbering and the head', () => {
  const event = (id: string): OutboundEvent => ({
    type: 'container_start',
    container: { id, name: id, status: 'running', labels: {} },
    timestamp: '2026-12-07T08:00:00.000000+00:00',
  });

  it('numbers the head once per session and keeps the number for its retry; a new session numbers afresh', async () => {
    const box = await Outbox.open(null, 10, new LogSink().log, new ManualClock());
    box.push(event('a'));
    box.push(event('b'));
    expect(box.headHoldsNumber('s1')).to.equal(false);
    expect(box.numberHead('s1')).to.equal(1);
    expect(box.numberHead('s1'), 'a retry reuses it').to.equal(1);
    expect(box.headHoldsNumber('s1')).to.equal(true);
    expect(box.nextEventNumber('s1', null), 'a heartbeat takes the next').to.equal(2);
    expect(box.numberHead('s2'), 'a new session starts at 1').to.equal(1);
    const head = box.head()!;
    box.attemptFailed(head.id);
    expect(box.head()!.attempts).to.equal(1);
    expect(box.delivered(head.id)).to.equal(true);
    expect(box.delivered(head.id), 'only the head').to.equal(false);
    expect(box.numberHead('s2')).to.equal(2);
  });

  it('counts a rejected head as dropped, and ignores an id that is no longer the head', async () => {
    const box = await Outbox.open(null, 10, new LogSink().log, new ManualClock());
    box.push(event('a'));
    const id = box.head()!.id;
    expect(box.headIf(id)?.id).to.equal(id);
    expect(box.rejected(id)).to.equal(true);
    expect(box.dropped).to.equal(1);
    expect(box.headIf(id)).to.equal(undefined);
    expect(box.rejected(id)).to.equal(false);
    expect(box.dropped).to.equal(1);
  });

  it('issues report numbers apart from event numbers, and gives the last one again for a retry', async () => {
    const box = await Outbox.open(null, 10, new LogSink().log, new ManualClock());
    expect(box.nextReportNumber('s1', null)).to.equal(1);
    expect(box.nextEventNumber('s1', null)).to.equal(1);
    expect(box.lastReportNumber('s1')).to.equal(1);
    expect(box.nextReportNumber('s1', box.lastReportNumber('s1'))).to.equal(1);
    expect(box.nextReportNumber('s1', null)).to.equal(2);
  });
});
