import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DockerodePort } from '../../../docker/dockerode-port.js';
import { dockerFromHost } from '../../../docker/dockerode-call.js';
import type { DockerEvent } from '../../../domain/container.js';

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * A stand-in for dockerd on a unix socket, for the adapter's own behaviour (deadlines, stream decoding) that a real
 * engine cannot be made to show on demand. It answers only the routes a spec gives it; any other request fails
 * the spec.
 */
class FakeDaemon {
  readonly unexpected: string[] = [];
  readonly closed: Promise<void>[] = [];
  private readonly server: http.Server;
  readonly socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dfa-fake-docker-')), 'docker.sock');

  constructor(private readonly routes: Record<string, Route>) {
    this.server = http.createServer((req, res) => {
      const route = Object.entries(this.routes).find(([prefix]) => req.url?.startsWith(prefix))?.[1];
      if (!route) {
        this.unexpected.push(`${req.method} ${req.url}`);
        res.writeHead(500).end();
        return;
      }
      route(req, res);
    });
    this.server.on('connection', (s: Socket) => {
      this.closed.push(
        new Promise((resolve) => {
          s.on('close', () => {
            resolve();
          });
        }),
      );
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => {
      this.server.listen(this.socketPath, resolve);
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  port(callTimeoutMs: number): DockerodePort {
    return new DockerodePort(dockerFromHost(`unix://${this.socketPath}`), { callTimeoutMs });
  }
}

// timeNano is past 2^53: written as Docker writes it, digits that a JS number could not hold.
const eventLine = (attributes: Record<string, string>): Buffer =>
  Buffer.from(
    `${JSON.stringify({
      Type: 'container',
      Action: 'start',
      Actor: { ID: 'a'.repeat(64), Attributes: attributes },
      time: 1736933400,
    }).slice(0, -1)},"timeNano":1736933400123456789}\n`,
    'utf8',
  );

describe('docker/dockerode-port against a stand-in daemon', () => {
  let daemon: FakeDaemon | undefined;
  afterEach(async () => {
    const unexpected = daemon?.unexpected ?? [];
    await daemon?.close();
    daemon = undefined;
    expect(unexpected, 'requests the spec did not expect').to.deep.equal([]);
  });

  it('gives up on a call the daemon does not answer, and aborts the request instead of leaving its connection open', async () => {
    daemon = new FakeDaemon({
      '/containers/json': () => {
        /* a wedged daemon: never answers */
      },
    });
    await daemon.listen();
    const port = daemon.port(200);
    let failure: unknown;
    await port.listManagedContainers().catch((err: unknown) => {
      failure = err;
    });
    expect(String(failure)).to.match(/no answer within 200 ms/);
    // One list per enable label, in parallel: each on its own connection.
    expect(daemon.closed, 'one connection per list').to.have.length(2);
    // Settles only if the agent's side closed the connections; mocha's timeout fails it otherwise.
    await Promise.all(daemon.closed);
  });

  it('decodes a character split across two chunks of the event stream', async () => {
    const label = 'Zugang für Büro';
    const line = eventLine({ name: 'web', 'dockflare.enable': 'true', 'dockflare.access.name': label });
    daemon = new FakeDaemon({
      '/events': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const cut = line.indexOf(Buffer.from('ü', 'utf8')) + 1; // Inside the two bytes of 'ü'.
        res.write(line.subarray(0, cut), () => {
          res.write(line.subarray(cut));
        });
      },
    });
    await daemon.listen();
    const life = new AbortController();
    const got = await new Promise<DockerEvent>((resolve, reject) => {
      daemon!
        .port(1000)
        .subscribeEvents(
          null,
          ['start'],
          {
            onEvent: resolve,
            onEnd: (r) => {
              reject(new Error(`ended: ${r}`));
            },
          },
          life.signal,
        )
        .catch(reject);
    });
    life.abort();
    expect(got.attributes['dockflare.access.name']).to.equal(label);
    expect(got.timeNano).to.equal(1736933400123456789n);
  });

  it('ends the event stream on a line far longer than any event, instead of buffering it without bound', async () => {
    daemon = new FakeDaemon({
      '/events': (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(Buffer.alloc(1100 * 1024, 'x'));
      },
    });
    await daemon.listen();
    const reason = await new Promise<string>((resolve, reject) => {
      daemon!
        .port(1000)
        .subscribeEvents(null, ['start'], {
          onEvent: () => {
            reject(new Error('no event expected'));
          },
          onEnd: resolve,
        })
        .catch(reject);
    });
    expect(reason).to.match(/^an event line over \d+ characters$/);
  });
});

describe('docker/dockerode-port: dockerFromHost', () => {
  it('reads tcp:// addresses as docker-py did: 2375 without a port, IPv6 literals without brackets', () => {
    const modem = (host: string): { host?: string; port?: number } =>
      (dockerFromHost(host) as unknown as { modem: { host?: string; port?: number } }).modem;
    expect(modem('tcp://docker-socket-proxy')).to.include({ host: 'docker-socket-proxy', port: 2375 });
    expect(modem('tcp://[::1]:2380')).to.include({ host: '::1', port: 2380 });
    expect(modem('https://engine.example:2376')).to.include({ host: 'engine.example', port: 2376 });
  });
});
