import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { configError } from '../../helpers/config-error.js';
import { loadConfig } from '../../../agent/config/config.js';

const KEY = 'kq3Xr8mV1pZ0aB7cD9eF2gH4iJ6kL8mN0oP2qR4sT6u';
const URL = { DOCKFLARE_MASTER_URL: 'https://dockflare.example.com' };

describe('agent/config/config: secrets from files (Docker and Swarm secrets)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-secrets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the key and the Access secret from their files, trimmed, and remembers where the key came from', async () => {
    await writeFile(path.join(dir, 'key'), `${KEY}\n`);
    await writeFile(path.join(dir, 'access'), 'access-secret-from-a-file\n');
    const c = loadConfig({
      ...URL,
      DOCKFLARE_API_KEY_FILE: path.join(dir, 'key'),
      CF_ACCESS_CLIENT_ID: 'access-id',
      CF_ACCESS_CLIENT_SECRET_FILE: path.join(dir, 'access'),
    });
    expect(c.master.apiKey).to.equal(KEY);
    expect(c.master.apiKeyFile).to.equal(path.join(dir, 'key'));
    expect(c.access).to.deep.equal({ clientId: 'access-id', clientSecret: 'access-secret-from-a-file' });
  });

  it('refuses a variable and its _FILE set together, naming the _FILE variable', async () => {
    await writeFile(path.join(dir, 'key'), KEY);
    const err = configError({ ...URL, DOCKFLARE_API_KEY: KEY, DOCKFLARE_API_KEY_FILE: path.join(dir, 'key') });
    expect([err.variable, err.reason]).to.deep.equal([
      'DOCKFLARE_API_KEY_FILE',
      'cannot be set together with DOCKFLARE_API_KEY',
    ]);
  });

  it('refuses a file that cannot be read, or is empty, naming the variable and never the content', async () => {
    const missing = configError({ ...URL, DOCKFLARE_API_KEY_FILE: path.join(dir, 'nope') });
    expect([missing.variable, missing.reason]).to.deep.equal(['DOCKFLARE_API_KEY_FILE', 'cannot be read (ENOENT)']);
    await writeFile(path.join(dir, 'empty'), '\n');
    const empty = configError({
      ...URL,
      DOCKFLARE_API_KEY: KEY,
      CF_ACCESS_CLIENT_ID: 'access-id',
      CF_ACCESS_CLIENT_SECRET_FILE: path.join(dir, 'empty'),
    });
    expect([empty.variable, empty.reason]).to.deep.equal(['CF_ACCESS_CLIENT_SECRET_FILE', 'names an empty file']);
  });

  it('takes a _FILE set to nothing as not set', () => {
    expect(loadConfig({ ...URL, DOCKFLARE_API_KEY: KEY, DOCKFLARE_API_KEY_FILE: ' ' }).master.apiKeyFile).to.equal(
      undefined,
    );
  });
});
