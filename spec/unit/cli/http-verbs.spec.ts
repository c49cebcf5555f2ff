import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { healthcheck } from '../../../cli/http-verbs.js';

/** A stand-in for the agent's local server on `host`; it answers only GET /livez (what the verb asks). */
async function healthServer(
  host: string,
  answer: (res: http.ServerResponse) => void,
): Promise<{ port: number; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    if (req.method !== 'GET' || req.url !== '/livez') {
      res.writeHead(404).end();
      return;
    }
    answer(res);
  });
  await new Promise<void>((resolve) => {
    server.listen(0, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

describe('cli/http-verbs: healthcheck', () => {
  it('with the health server turned off (HEALTH_CHECK_PORT=0) passes without asking anything', async () => {
    const out: string[] = [];
    expect(
      await healthcheck({ HEALTH_CHECK_PORT: '0' }, (l) => {
        out.push(l);
      }),
    ).to.equal(0);
    expect(out.join('')).to.match(/health server off/);
  });

  it('asks the address the server is bound to when it is a specific one', async () => {
    const server = await healthServer('127.0.0.2', (res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"alive","reasons":[]}');
    });
    try {
      const out: string[] = [];
      expect(
        await healthcheck({ HEALTH_CHECK_PORT: String(server.port), HEALTH_BIND_ADDRESS: '127.0.0.2' }, (l) => {
          out.push(l);
        }),
      ).to.equal(0);
      expect(server.hits).to.deep.equal(['GET /livez']);
      expect(out).to.deep.equal(['alive\n']);
    } finally {
      await server.close();
    }
  });

  it('fails within its deadline against a server that trickles its answer', async function () {
    this.timeout(10_000);
    let timer: NodeJS.Timeout | undefined;
    const server = await healthServer('127.0.0.1', (res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      timer = setInterval(() => {
        res.write(' ');
      }, 200); // Never idle long enough for an idle timeout.
    });
    try {
      const began = Date.now();
      const code = await healthcheck({ HEALTH_CHECK_PORT: String(server.port) }, () => undefined);
      expect(code).to.equal(1);
      expect(Date.now() - began, 'ms').to.be.below(5000);
    } finally {
      clearInterval(timer);
      await server.close();
    }
  });
});
