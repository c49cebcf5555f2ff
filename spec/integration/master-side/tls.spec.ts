import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { HttpMasterClient } from '../../../master/client.js';
import { specMasterClient } from '../../helpers/master-client.js';

const run = promisify(execFile);

/** A master behind TLS with a private CA: verification is on, and MASTER_CA_FILE makes the CA trusted. */
describe('master client: TLS', () => {
  let dir = '';
  let server: https.Server | undefined;
  let url = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dfa-tls-'));
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    server = https.createServer(
      { key: await readFile(path.join(dir, 'key.pem')), cert: await readFile(path.join(dir, 'cert.pem')) },
      (req, res) => {
        req.resume();
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            status: 'success',
            code: 'registered',
            agent_id: 'tls-agent',
            protocol_version: 2,
            agent_session_id: 's'.repeat(43),
          }),
        );
      },
    );
    await new Promise<void>((resolve) => {
      server!.listen(0, '127.0.0.1', resolve);
    });
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => {
      server?.close(() => {
        resolve();
      });
    });
    await rm(dir, { recursive: true, force: true });
  });

  const client = (caFile: string | undefined): HttpMasterClient => specMasterClient(url, { caFile });
  const body = { display_name: 'x', version: '1', agent_version: '1', supported_protocol_versions: [2, 1] };

  it('refuses a certificate it cannot verify', async () => {
    const res = await client(undefined).register(body);
    expect(res.ok).to.equal(false);
    if (!res.ok && res.failure.kind === 'transient') expect(res.failure.reason).to.match(/self.signed|certificate/i);
    else expect.fail('expected a transient TLS failure');
  });

  it('trusts the private CA given as MASTER_CA_FILE', async () => {
    const res = await client(path.join(dir, 'cert.pem')).register(body);
    expect(res.ok && res.value.agentId).to.equal('tls-agent');
  });
});
