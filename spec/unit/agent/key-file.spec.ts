import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { keyFileReader, KEY_FILE_SETTLE_MS } from '../../../agent/key-file.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const KEY = 'kq3Xr8mV1pZ0aB7cD9eF2gH4iJ6kL8mN0oP2qR4sT6u';

/** Lets the reader reach its next await (a file read and a timer are set up synchronously). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('agent/key-file: the key file read again after a 401', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  let sink: LogSink;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-keyfile-'));
    file = path.join(dir, 'key');
    clock = new ManualClock();
    sink = new LogSink();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the key, trimmed, at once', async () => {
    await writeFile(file, `${KEY}\n`);
    const read = keyFileReader({ file, clock, log: sink.log });
    expect(await read()).to.equal(KEY);
    expect(clock.activeTimers, 'no wait').to.equal(0);
  });

  it('finds the file empty while it is being written (echo > file) and reads it again a moment later', async () => {
    await writeFile(file, '');
    const read = keyFileReader({ file, clock, log: sink.log });
    const pending = read();
    await turn();
    expect(clock.nextDue(), 'a short wait, not a backoff').to.equal(clock.monotonic() + KEY_FILE_SETTLE_MS);
    await writeFile(file, `${KEY}\n`);
    clock.advance(KEY_FILE_SETTLE_MS);
    expect(await pending).to.equal(KEY);
    expect(sink.events('api_key_file_unreadable'), 'nothing to warn about').to.be.empty;
  });

  it('finds no file while an editor saves it by rename, and reads it again a moment later', async () => {
    const read = keyFileReader({ file, clock, log: sink.log });
    const pending = read();
    await turn();
    await writeFile(file, KEY);
    clock.advance(KEY_FILE_SETTLE_MS);
    expect(await pending).to.equal(KEY);
  });

  it('keeps the old key (null) while the file stays empty, warning once for as long as it lasts', async () => {
    await writeFile(file, '\n');
    const read = keyFileReader({ file, clock, log: sink.log });
    for (let i = 0; i < 3; i++) {
      const pending = read();
      await turn();
      clock.advance(KEY_FILE_SETTLE_MS);
      expect(await pending).to.equal(null);
    }
    const records = sink.events('api_key_file_unreadable');
    expect(records.map((r) => r.level)).to.deep.equal([40, 20, 20]);
    expect(records[0]).to.include({ file, reason: 'names an empty file' });
    await writeFile(file, KEY);
    expect(await read()).to.equal(KEY);
    await writeFile(file, '');
    const again = read();
    await turn();
    clock.advance(KEY_FILE_SETTLE_MS);
    expect(await again).to.equal(null);
    expect(sink.events('api_key_file_unreadable').at(-1)?.level, 'loud again once it starts again').to.equal(40);
  });

  it('does not wait on a file that cannot be read for another reason (a directory)', async () => {
    await mkdir(file);
    const read = keyFileReader({ file, clock, log: sink.log });
    expect(await read()).to.equal(null);
    expect(clock.activeTimers).to.equal(0);
    expect(sink.events('api_key_file_unreadable')[0]).to.include({ reason: 'cannot be read (EISDIR)' });
  });

  it('refuses a key a header cannot carry, without waiting and without quoting it', async () => {
    await writeFile(file, 'new key with spaces\n');
    const read = keyFileReader({ file, clock, log: sink.log });
    expect(await read()).to.equal(null);
    expect(clock.activeTimers).to.equal(0);
    expect(sink.events('api_key_file_unreadable')[0]).to.include({
      reason: 'holds characters a request header cannot carry',
    });
    expect(sink.lines.join('\n')).not.to.include('spaces');
  });
});
