/**
 * CLI verbs that talk to a running agent's local server: `healthcheck` (the image's HEALTHCHECK; the image
 * has no curl) and `chaos kill <actor>`. They read only HEALTH_CHECK_PORT, not the agent's whole configuration.
 */
import http from 'node:http';

function localPort(env: NodeJS.ProcessEnv): number {
  const raw = env.HEALTH_CHECK_PORT?.trim() ?? '8080';
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('HEALTH_CHECK_PORT must be a port between 1 and 65535 (0 turns the server off)');
  return port;
}

function request(method: 'GET' | 'POST', port: number, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
    });
    req.on('timeout', () => { req.destroy(new Error(`no answer within ${timeoutMs} ms`)); });
    req.on('error', reject);
    req.end();
  });
}

/** Exit 0 when /health says healthy, 1 otherwise (Docker's HEALTHCHECK contract). */
export async function healthcheck(env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  try {
    const res = await request('GET', localPort(env), '/health', 3000);
    const status = (JSON.parse(res.body) as { status?: unknown; reasons?: unknown }).status;
    out(`${String(status)}\n`);
    return res.status === 200 ? 0 : 1;
  } catch (err) {
    out(`unreachable: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

export async function chaosKill(env: NodeJS.ProcessEnv, actor: string | undefined, out: (line: string) => void): Promise<number> {
  if (!actor || !/^[\w-]+$/.test(actor)) {
    out('usage: dockflare-agent chaos kill <actor>\n');
    return 64;
  }
  try {
    const res = await request('POST', localPort(env), `/chaos/kill/${actor}`, 3000);
    out(`${res.body}\n`);
    return res.status === 202 ? 0 : 1;
  } catch (err) {
    out(`unreachable: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
