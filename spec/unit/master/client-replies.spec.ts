import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { HttpMasterClient } from '../../../master/client.js';
import { specMasterClient } from '../../helpers/master-client.js';

/** A client of a local server answering with `handler`. */
async function against(
  handler: http.RequestListener,
  opts: { accessSecret?: string; maxReplyBytes?: number } = {},
): Promise<{ client: HttpMasterClient; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = specMasterClient(`http://127.0.0.1:${port}`, {
    timeoutMs: 5000,
    ...(opts.accessSecret !== undefined ? { access: { clientId: 'id.access', clientSecret: opts.accessSecret } } : {}),
    ...(opts.maxReplyBytes !== undefined ? { maxReplyBytes: opts.maxReplyBytes } : {}),
  });
  return { client, server };
}

describe('master client: replies and requests at the edges', () => {
  let server: http.Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it('takes a JSON reply that starts with a byte order mark', async () => {
    const run = await against((req, res) => {
      req.resume();
      res.writeHead(202, { 'content-type': 'application/json' }).end('\ufeff{"status":"success","code":"accepted"}');
    });
    server = run.server;
    const result = await run.client.postEvent('a', { type: 'heartbeat' });
    expect(result).to.deep.include({ ok: true, status: 202 });
  });

  it('ends an oversized reply at the cap instead of downloading the rest', async () => {
    let written = 0;
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const run = await against(
      (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.on('close', closed);
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        // Writes on without end until the client goes away.
        const more = (): void => {
          while (!res.destroyed && res.write(chunk)) written += chunk.length;
          if (!res.destroyed) res.once('drain', more);
        };
        more();
      },
      { maxReplyBytes: 4096 },
    );
    server = run.server;
    const result = await run.client.postEvent('a', { type: 'heartbeat' });
    expect(result.ok).to.equal(false);
    expect(!result.ok && result.failure).to.include({ kind: 'transient', reason: 'reply too large' });
    await connectionClosed;
    expect(written, 'the server stopped writing soon after the cap').to.be.below(4 * 1024 * 1024);
  });

  it('never quotes a header value the HTTP library refuses (a secret read from a file may hold one)', async () => {
    const run = await against(
      () => {
        throw new Error('no request may reach the server');
      },
      { accessSecret: 'sec\u0001' },
    );
    server = run.server;
    const result = await run.client.postEvent('a', { type: 'heartbeat' });
    expect(result.ok).to.equal(false);
    expect(JSON.stringify(result)).not.to.include('sec');
  });
});
