/**
 * The few socket-level chores: reading a body without letting a hostile client grow memory, flattening headers,
 * and writing a reply only while the client is still there to read it.
 */
import { MAX_TIMER_MS } from '../../supervisor/clock.js';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Outgoing } from './faults.js';

/**
 * How long an idle client connection stays open. DockFlare's master (v3.1.x) serves its API with waitress, whose
 * channel_timeout (WAITRESS_CHANNEL_TIMEOUT, 360 s by default there) closes inactive connections; Node's own
 * default of 5 s would have every 5-30 s cycle of an agent open a new connection, which the real master does not
 * make it do. Specs of reconnection set a short value, or use a server of their own that drops connections.
 */
export const MASTER_IDLE_CONNECTION_MS = 360_000;

export interface BodyRead {
  /** At most `limit` bytes, decoded as UTF-8. */
  text: string;
  bytes: number;
  oversize: boolean;
}

/**
 * Reads the whole body but keeps at most `limit` bytes: an oversized body is drained rather than cut off, so the
 * client gets its 413 instead of a reset while it is still sending. Rejects if the client goes away first.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let bytes = 0;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (kept < limit) {
        const part = chunk.subarray(0, limit - kept);
        chunks.push(part);
        kept += part.length;
      }
    });
    req.on('end', () => {
      ended = true;
      resolve({ text: Buffer.concat(chunks).toString('utf8'), bytes, oversize: bytes > limit });
    });
    req.on('error', (err) => {
      reject(err);
    });
    req.on('close', () => {
      if (!ended) reject(new Error('client closed the connection before the body ended'));
    });
  });
}

export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** False when the client had already gone (e.g. it timed out during a slow reply): nothing was delivered. */
export function writeOutgoing(res: ServerResponse, out: Outgoing): boolean {
  if (res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed) return false;
  res.writeHead(out.status, { ...out.headers, 'content-length': String(Buffer.byteLength(out.text)) });
  res.end(out.text);
  return true;
}

/** Resolves true after `ms`, or false when the cancel it adds to `cancels` is called first. */
export function cancellableDelay(ms: number, cancels: Set<() => void>): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = (): void => {
      clearTimeout(timer);
      cancels.delete(cancel);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        cancels.delete(cancel);
        resolve(true);
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    cancels.add(cancel);
  });
}
