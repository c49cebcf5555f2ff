/**
 * A tiny HTTP client for specs that talk to the test master directly (real HTTP through Node's fetch). Every call
 * is bounded by a timeout; the body is returned both as text and, when it parses, as JSON.
 */
export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
}

export interface CallOptions {
  /** Bearer token; omit for no Authorization header. */
  key?: string;
  /** Sent as JSON with Content-Type application/json. */
  body?: unknown;
  /** Sent verbatim instead of `body`. */
  raw?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export async function call(baseUrl: string, method: string, path: string, opts: CallOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Paths of the agent API, with the id percent-encoded as the agent does it. */
export const agentPaths = {
  register: '/api/v2/agents/register',
  commands: (id: string): string => `/api/v2/agents/${encodeURIComponent(id)}/commands`,
  events: (id: string): string => `/api/v2/agents/${encodeURIComponent(id)}/events`,
  ack: (id: string, op: string): string =>
    `/api/v2/agents/${encodeURIComponent(id)}/decommission/${encodeURIComponent(op)}/ack`,
};
