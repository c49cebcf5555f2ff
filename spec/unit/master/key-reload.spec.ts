import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { specMasterClient } from '../../helpers/master-client.js';

const OLD = 'o'.repeat(43);
const NEW = 'n'.repeat(43);

describe('master client: a key rolled while two requests are out with the old one', () => {
  let server: http.Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it('sends both again at once with the new key, the second without reading the key file again', async () => {
    // A master that holds both old-key requests, refuses the first, and refuses the second only once the first has
    // come back with the new key: the second's 401 arrives after its client already knows the new key.
    const held: http.ServerResponse[] = [];
    const auths: string[] = [];
    const json = (res: http.ServerResponse, status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const refuse = (res: http.ServerResponse | undefined): void => {
      if (res) json(res, 401, { status: 'error', code: 'unauthorized', message: 'Invalid API key.' });
    };
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const auth = req.headers.authorization ?? '';
        auths.push(auth === `Bearer ${NEW}` ? 'new' : auth === `Bearer ${OLD}` ? 'old' : 'other');
        if (auth === `Bearer ${NEW}`) {
          json(res, 202, { status: 'success', code: 'accepted' });
          refuse(held.shift());
          return;
        }
        held.push(res);
        if (held.length === 2) refuse(held.shift());
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let reads = 0;
    const client = specMasterClient(`http://127.0.0.1:${port}`, {
      apiKey: OLD,
      reloadKey: () => {
        reads++;
        return Promise.resolve(NEW);
      },
      timeoutMs: 5000,
    });

    const [heartbeat, report] = await Promise.all([
      client.postEvent('a', { type: 'heartbeat' }),
      client.postEvent('a', { type: 'status_report' }),
    ]);

    expect(heartbeat.ok, 'the first request').to.equal(true);
    expect(report.ok, 'the second request, refused after the key changed').to.equal(true);
    expect(auths).to.deep.equal(['old', 'old', 'new', 'new']);
    expect(reads, 'the key file read once').to.equal(1);
  });
});
