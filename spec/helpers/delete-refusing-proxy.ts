/**
 * A socket proxy in front of the test engine that refuses DELETE, as a proxy honouring DELETE=0 does (haproxy's
 * 403 page), and passes everything else through, streams included. Loopback TCP, for DOCKER_HOST=tcp://….
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const FORBIDDEN = '<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n';

export interface RefusingProxy {
  dockerHost: string;
  refused: string[];
  close(): Promise<void>;
}

export async function startDeleteRefusingProxy(upstream = process.env.DOCKER_HOST): Promise<RefusingProxy> {
  if (!upstream?.startsWith('unix://')) throw new Error('delete-refusing proxy: needs a unix:// DOCKER_HOST');
  const socketPath = upstream.slice('unix://'.length);
  const refused: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if (req.method === 'DELETE') {
      refused.push(req.url ?? '');
      res.writeHead(403, { 'content-type': 'text/html' }).end(FORBIDDEN);
      return;
    }
    const out = http.request({ socketPath, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    dockerHost: `tcp://127.0.0.1:${port}`,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
