/**
 * The local HTTP server: GET /health (readiness: docs/protocol.md §12 plus the supervision tree), GET /livez
 * (liveness: the process answers and no actor is failed or in a crash loop), GET /metrics (Prometheus),
 * POST /chaos/kill/<actor> (only with chaos mode on, and only from this host). A request with an Origin header
 * (a web page's) is refused. Anything else: 404.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { isLoopback } from '../domain/address.js';
import type { ChaosMonkey } from './chaos.js';
import type { HealthReport } from './health-report.js';
import { MAX_TIMER_MS, systemClock, type Clock } from '../supervisor/clock.js';

/**
 * The longest a connection may stay open, whatever it does. Probes, curl and the CLI are done in milliseconds (idle
 * keep-alive ends after 1 s); a peer that trickles its request (slowloris) is cut here.
 */
export const CONNECTION_LIFETIME_MS = 15_000;

export interface HealthServerDeps {
  port: number;
  bindAddress: string;
  log: Logger;
  health: () => HealthReport;
  /** GET /livez: the liveness view the image's HEALTHCHECK asks. */
  liveness: () => HealthReport;
  metrics: () => string;
  /** Null when nothing runs that could be killed (a decommissioned agent). */
  chaos: Pick<ChaosMonkey, 'kill'> | null;
  /**
   * The log's redactor: /health carries error texts (each actor's last crash reason) and is served on every
   * interface; a secret that reached an error message must not leave the process this way either.
   */
  redact: (text: string) => string;
  /** For the per-connection deadline; the system clock by default. */
  clock?: Clock;
}

/**
 * Whether a connection comes from this host: over loopback, or to the address it came from (the CLI dialling a
 * HEALTH_BIND_ADDRESS that is one of the host's own non-loopback addresses).
 */
export function fromThisHost(remote: string | undefined, local: string | undefined): boolean {
  if (isLoopback(remote)) return true;
  const plain = (a: string | undefined): string | undefined => a?.replace(/^::ffff:/, '');
  return remote !== undefined && plain(remote) === plain(local);
}

export interface RunningHealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(deps: HealthServerDeps): Promise<RunningHealthServer> {
  const send = (res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void => {
    const text = deps.redact(type === 'application/json' ? JSON.stringify(body) : String(body));
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
    });
    res.end(text);
  };
  // Node enforces headersTimeout and requestTimeout from a timer that runs as long as the server listens: at the
  // 1 s needed for a tight bound it woke the idle agent 60 times a minute (half its idle CPU, bench/profile.ts).
  // A deadline per connection bounds every connection instead, and costs nothing while none is open.
  const server = http.createServer({ connectionsCheckingInterval: MAX_TIMER_MS }, (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://agent');
    } catch {
      // Anyone on the agent's networks can send this: not the agent's error, and not worth a log line each.
      send(res, 400, { status: 'error', message: 'bad request target' });
      req.resume();
      return;
    }
    // A browser sends Origin with every cross-site POST and fetch: no web page may reach these routes (a page open
    // on a host-network agent's host could otherwise kill actors). Probes, curl and the CLI send none.
    if (req.headers.origin !== undefined) {
      send(res, 403, { status: 'error', message: 'requests from web pages are refused' });
      req.resume();
      return;
    }
    // HEAD is answered like GET without the body (Node leaves the body out), as probes and curl -I expect.
    const reads = req.method === 'GET' || req.method === 'HEAD';
    try {
      const chaos = /^\/chaos\/kill\/([\w-]+)$/.exec(url.pathname);
      if (reads && (url.pathname === '/health' || url.pathname === '/livez')) {
        const report = url.pathname === '/health' ? deps.health() : deps.liveness();
        send(res, report.httpStatus, report.body);
      } else if (reads && url.pathname === '/metrics') {
        send(res, 200, deps.metrics(), 'text/plain; version=0.0.4');
      } else if (req.method === 'POST' && chaos?.[1] && deps.chaos !== null) {
        if (!fromThisHost(req.socket.remoteAddress, req.socket.localAddress)) {
          send(res, 403, { status: 'error', message: 'chaos requests are accepted from this host only' });
          return;
        }
        const result = deps.chaos.kill(chaos[1], 'request');
        send(
          res,
          result.ok ? 202 : result.status,
          result.ok
            ? { status: 'killed', actor: result.actor, gen: result.gen }
            : { status: 'error', message: result.reason },
        );
      } else {
        send(res, 404, { status: 'error', message: 'not found' });
      }
    } catch (err) {
      deps.log.error({ event: 'health_server_error', err }, 'health request failed');
      send(res, 500, { status: 'error', message: 'internal error' });
    }
    req.resume();
  });
  server.keepAliveTimeout = 1000;
  // It listens on every interface by default, where every managed container can reach it: a slow client must not
  // hold a socket for Node's default minutes. No connection cap: a neighbour holding the cap's worth of sockets
  // would fail the HEALTHCHECK; each connection's deadline ends them instead.
  const clock = deps.clock ?? systemClock;
  server.on('connection', (socket: Socket) => {
    const deadline = clock.setTimeout(() => {
      socket.destroy();
    }, CONNECTION_LIFETIME_MS);
    socket.once('close', deadline.cancel);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  deps.log.info({ event: 'health_server_listening', port, bindAddress: deps.bindAddress }, 'health server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
