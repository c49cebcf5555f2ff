import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import type { ChaosMonkey } from '../../../agent/chaos.js';
import {
  CONNECTION_LIFETIME_MS,
  fromThisHost,
  startHealthServer,
  type RunningHealthServer,
} from '../../../agent/health-server.js';
import { LogSink } from '../../helpers/log-sink.js';
import { ManualClock } from '../../helpers/manual-clock.js';

/** The server with a fixed report; chaos fails the spec if it is reached. */
async function server(sink: LogSink, clock?: ManualClock): Promise<RunningHealthServer> {
  const chaos = {
    kill: () => {
      throw new Error('chaos: unexpected call');
    },
  } as unknown as ChaosMonkey;
  return startHealthServer({
    port: 0,
    bindAddress: '127.0.0.1',
    log: sink.log,
    chaos,
    redact: (t) => t,
    health: () => ({ httpStatus: 200, body: { status: 'healthy' } }),
    liveness: () => ({ httpStatus: 200, body: { status: 'alive', reasons: [] } }),
    metrics: () => 'm 1\n',
    ...(clock ? { clock } : {}),
  });
}

/** A request written by hand, as a hostile or broken peer would send it; resolves with the raw answer. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end(text);
    });
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      got += c;
    });
    s.on('end', () => {
      resolve(got);
    });
    s.on('error', reject);
  });
}

describe('agent/health-server', () => {
  let running: RunningHealthServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('answers a request target it cannot parse with 400, without an error line per request', async () => {
    const sink = new LogSink();
    running = await server(sink);
    const answer = await raw(running.port, 'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer.split('\r\n')[0]).to.equal('HTTP/1.1 400 Bad Request');
    expect(
      sink.records.filter((r) => r.level >= 40),
      'no warn or error lines',
    ).to.deep.equal([]);
  });

  it('cuts a connection that trickles its request when its lifetime is over, and not before', async () => {
    const clock = new ManualClock();
    running = await server(new LogSink(), clock);
    const port = running.port;
    const s = net.connect(port, '127.0.0.1');
    const closed = new Promise<void>((resolve) =>
      s.once('close', () => {
        resolve();
      }),
    );
    s.on('error', () => undefined);
    await new Promise<void>((resolve) =>
      s.once('connect', () => {
        resolve();
      }),
    );
    s.write('GET /health HTTP/1.1\r\nHost: x\r\n'); // headers never finished: a slowloris
    // The server has seen the connection once its first bytes are answered by nothing: give it a turn of the loop.
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(CONNECTION_LIFETIME_MS - 1);
    /** 'closed' once the server has closed the connection, 'open' if it has not within `ms` of real time. */
    const stateWithin = (ms: number): Promise<string> =>
      Promise.race([
        closed.then(() => 'closed'),
        new Promise<string>((r) =>
          setTimeout(() => {
            r('open');
          }, ms),
        ),
      ]);
    expect(await stateWithin(100), 'just before the deadline').to.equal('open');
    clock.advance(1);
    const late = await stateWithin(2000);
    expect(late, 'at the deadline').to.equal('closed');
  });

  it('answers HEAD /health like GET, without a body', async () => {
    running = await server(new LogSink());
    const port = running.port;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.request({ host: '127.0.0.1', port, path: '/health', method: 'HEAD' }, resolve).on('error', reject).end();
    });
    let body = '';
    for await (const chunk of res) body += String(chunk);
    expect([res.statusCode, body]).to.deep.equal([200, '']);
  });

  it('still answers /health while a neighbour holds many idle connections open', async () => {
    running = await server(new LogSink());
    const port = running.port;
    const idle = await Promise.all(
      Array.from(
        { length: 80 },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect(port, '127.0.0.1', () => {
              resolve(s);
            });
            s.on('error', reject);
          }),
      ),
    );
    try {
      const status = await new Promise<number | undefined>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/health' }, (res) => {
            res.resume();
            resolve(res.statusCode);
          })
          .on('error', reject);
      });
      expect(status).to.equal(200);
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  it('refuses any request with an Origin header: a web page cannot reach /chaos/kill or read /health', async () => {
    running = await server(new LogSink());
    for (const [method, path] of [
      ['POST', '/chaos/kill/reporter'],
      ['GET', '/health'],
    ] as const) {
      const answer = await raw(
        running.port,
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      expect(answer.split('\r\n')[0], `${method} ${path}`).to.equal('HTTP/1.1 403 Forbidden');
    }
  });

  it('takes chaos from this host: loopback, or the address the server itself listens on', () => {
    expect(fromThisHost('127.0.0.1', '127.0.0.1')).to.equal(true);
    expect(fromThisHost('::ffff:127.0.0.1', '::ffff:127.0.0.1')).to.equal(true);
    expect(fromThisHost('10.1.2.3', '10.1.2.3'), 'the CLI dialling a specific bind address').to.equal(true);
    expect(fromThisHost('::ffff:10.1.2.3', '10.1.2.3')).to.equal(true);
    expect(fromThisHost('10.1.2.4', '10.1.2.3'), 'a neighbour').to.equal(false);
    expect(fromThisHost(undefined, '10.1.2.3')).to.equal(false);
  });
});
