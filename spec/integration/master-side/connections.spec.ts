import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'chai';
import type { HttpMasterClient } from '../../../master/client.js';
import { specMasterClient } from '../../helpers/master-client.js';
import { TestMaster } from '../../master/index.js';

const registerBody = { display_name: 'conn', version: '1', agent_version: '1', supported_protocol_versions: [2, 1] };

function clientFor(baseUrl: string, key: string): HttpMasterClient {
  return specMasterClient(baseUrl, { apiKey: key });
}

/** Each event of a burst must not pay for a new connection. */
describe('master client: connections', () => {
  let master: TestMaster | undefined;
  afterEach(async () => {
    await master?.stop();
    master = undefined;
  });

  it('sends a registration and a burst of events over one reused connection', async () => {
    master = await TestMaster.start({ mode: 'v2' });
    const client = clientFor(master.url, master.generateKey());
    const reg = await client.register(registerBody);
    if (!reg.ok) expect.fail(`registration failed: ${JSON.stringify(reg.failure)}`);
    for (let seq = 1; seq <= 10; seq++) {
      const res = await client.postEvent(reg.value.agentId, {
        type: 'heartbeat',
        protocol_version: 2,
        agent_session_id: reg.value.sessionId,
        event_sequence: seq,
        timestamp: new Date().toISOString(),
      });
      expect(res.ok, `event ${seq}`).to.equal(true);
    }
    expect(master.requests.filter((r) => r.endpoint === 'events' && r.status < 300)).to.have.length(10);
    expect(master.connectionsAccepted).to.equal(1);
    // Tiny JSON replies: no compressed replies asked for, so no decoder pipeline per request.
    expect(master.requests.map((r) => r.headers['accept-encoding'])).to.deep.equal(
      master.requests.map(() => undefined),
    );
  });

  it('keeps an idle connection across a report interval when the server allows it (no new handshake per cycle)', async function () {
    this.timeout(15_000);
    // Node's global agent drops idle sockets after 5 s: with TLS every 5-30 s report would pay a full handshake.
    master = await TestMaster.start({ mode: 'v2', keepAliveTimeoutMs: 65_000 });
    const client = clientFor(master.url, master.generateKey());
    const reg = await client.register(registerBody);
    if (!reg.ok) expect.fail(`registration failed: ${JSON.stringify(reg.failure)}`);
    // Nothing to await here: the subject is a socket that stays open while nothing happens for one interval.
    await new Promise((resolve) => setTimeout(resolve, 5500));
    const res = await client.fetchCommands(reg.value.agentId);
    expect(res.ok).to.equal(true);
    expect(master.connectionsAccepted).to.equal(1);
  });

  it('opens a new connection when the server has closed an idle one, without a failed request', async () => {
    // A server that announces nothing and drops idle connections after 100 ms, like a short gunicorn keepalive.
    const sockets: Socket[] = [];
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'success',
          code: 'registered',
          agent_id: 'a1',
          protocol_version: 2,
          agent_session_id: 's'.repeat(43),
        }),
      );
      res.on('finish', () => {
        setTimeout(() => {
          req.socket.destroy();
        }, 100);
      });
    });
    server.on('connection', (s: Socket) => {
      sockets.push(s);
    });
    server.keepAliveTimeout = 0;
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve);
    });
    try {
      const client = clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'k'.repeat(43));
      const first = await client.register(registerBody);
      expect(first.ok).to.equal(true);
      await new Promise<void>((resolve) => {
        sockets[0]?.once('close', () => {
          resolve();
        });
      });
      const second = await client.register(registerBody);
      expect(second.ok).to.equal(true);
      expect(sockets).to.have.length(2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  });
});
