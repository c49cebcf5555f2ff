import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { FileStateStore } from '../../../persistence/state-files.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

describe('persistence/state-files: corrupt and unreadable files', () => {
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

  const corrupt: [string, string, string][] = [
    ['corrupt JSON', 'tunnel_state.json', '{"token": "abc", "id": '],
    ['a JSON array', 'tunnel_state.json', '[1, 2]'],
    ['wrong types', 'tunnel_state.json', '{"token": 12, "id": null, "name": null, "desired_state": "running"}'],
    [
      'an unknown desired_state',
      'tunnel_state.json',
      '{"token": null, "id": null, "name": null, "desired_state": "paused"}',
    ],
    ['binary garbage as id', 'agent_id.txt', 'abc\u0000def'],
    ['an id with a line break inside', 'agent_id.txt', 'two\nlines'],
  ];
  for (const [what, file, content] of corrupt) {
    it(`moves aside ${what} in ${file} and starts from defaults`, async () => {
      await writeFile(path.join(dir, file), content);
      const store = await open();
      const value = file === 'agent_id.txt' ? await store.loadAgentId() : await store.loadTunnelState();
      expect(value).to.deep.equal(
        file === 'agent_id.txt' ? undefined : { token: null, id: null, name: null, desired_state: 'unknown' },
      );
      const aside = (await readdir(dir)).filter((f) => f.startsWith(`${file}.corrupt-`));
      expect(aside).to.have.length(1);
      expect(aside[0]).to.match(/\.corrupt-\d{8}T\d{9}Z$/);
      expect(await readFile(path.join(dir, aside[0]!), 'utf8')).to.equal(content);
      const warn = sink.events('state_file_corrupt')[0]!;
      expect(warn.level).to.equal(40);
      expect(warn.movedTo).to.equal(path.join(dir, aside[0]!));
    });
  }

  it("never quotes a corrupt file's content in its log line (V8's parse error would)", async () => {
    // Not JSON from its first character, so V8's message would quote the text; unknown to the redactor too.
    const content = 'tunnel-token-like-content-0123456789abcdef';
    await writeFile(path.join(dir, 'tunnel_state.json'), content);
    const store = await open();
    expect((await store.loadTunnelState()).desired_state).to.equal('unknown');
    expect(sink.events('state_file_corrupt')[0]!.reason).to.equal('not JSON');
    expect(sink.lines.join('\n')).not.to.include('0123456789abcdef');
  });

  it('moves aside a state file that cannot be read (a directory in its place)', async () => {
    await mkdir(path.join(dir, 'tunnel_state.json'));
    const store = await open();
    expect((await store.loadTunnelState()).desired_state).to.equal('unknown');
    expect(sink.events('state_file_corrupt')[0]!.reason).to.match(/unreadable: EISDIR/);
  });
});
