/**
 * CLI verbs that talk to a running agent's local server: `healthcheck` (the image's HEALTHCHECK; the image
 * has no curl) and `chaos kill <actor>`. They read only HEALTH_CHECK_PORT and HEALTH_BIND_ADDRESS, not the agent's
 * whole configuration.
 */
import http from 'node:http';
import { unbracketed } from '../domain/address.js';

function localPort(env: NodeJS.ProcessEnv): number {
  const raw = env.HEALTH_CHECK_PORT?.trim() || '8080';
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error('HEALTH_CHECK_PORT must be a port between 1 and 65535 (0 turns the server off)');
  return port;
}

/** Where the agent's server listens, seen from inside its container: a wildcard bind is reached on loopback. */
function localHost(env: NodeJS.ProcessEnv): string {
  const bind = env.HEALTH_BIND_ADDRESS?.trim() || '0.0.0.0';
  // A '::' socket takes IPv4 too, and a container may have IPv6 turned off: IPv4 loopback for both wildcards.
  if (bind === '0.0.0.0' || bind === '::' || bind === '[::]') return '127.0.0.1';
  return unbracketed(bind);
}

/** One request with a deadline for the whole exchange: a peer that trickles bytes must not hold the verb. */
function request(
  method: 'GET' | 'POST',
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = http.request({ host, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', (err) => {
        clearTimeout(deadline);
        reject(err);
      });
    });
    req.on('error', (err) => {
      clearTimeout(deadline);
      reject(err);
    });
    req.end();
  });
}

/**
 * Exit 0 while the agent is alive (/livez: it answers and no actor is failed or in a crash loop), 1 otherwise
 * (Docker's HEALTHCHECK contract). Not /health: a master outage must never make Docker or an autoheal tool restart
 * an agent whose tunnel works.
 */
export async function healthcheck(env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  try {
    const port = localPort(env);
    if (port === 0) {
      // The operator turned the server off: there is nothing to ask, and an image that is unhealthy for good would
      // make an orchestrator or an autoheal tool restart a working agent.
      out('health server off (HEALTH_CHECK_PORT=0): not checked\n');
      return 0;
    }
    const res = await request('GET', localHost(env), port, '/livez', 3000);
    const status = (JSON.parse(res.body) as { status?: unknown; reasons?: unknown }).status;
    out(`${String(status)}\n`);
    return res.status === 200 ? 0 : 1;
  } catch (err) {
    out(`unreachable: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

export async function chaosKill(
  env: NodeJS.ProcessEnv,
  actor: string | undefined,
  out: (line: string) => void,
): Promise<number> {
  if (!actor || !/^[\w-]+$/.test(actor)) {
    out('usage: dockflare-agent chaos kill <actor>\n');
    return 64;
  }
  try {
    const port = localPort(env);
    if (port === 0) throw new Error('the health server is off (HEALTH_CHECK_PORT=0)');
    const res = await request('POST', localHost(env), port, `/chaos/kill/${actor}`, 3000);
    out(`${res.body}\n`);
    return res.status === 202 ? 0 : 1;
  } catch (err) {
    out(`unreachable: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
