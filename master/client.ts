/**
 * The master boundary: three endpoints over node-fetch (docs/protocol.md §2–§5). Every request has a timeout that
 * covers connect and the whole body, carries the Bearer key and the optional Access headers, follows no
 * redirects (an Access login page is a failure, not a reply), and caps the reply size. Replies are decoded from
 * `unknown`; failures come back as a MasterFailure, never as an exception and never with a secret in them.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import fetch, { type RequestInit } from 'node-fetch';
import { isLoopback } from '../domain/address.js';
import { decodeCommandsReply, decodeEventReply, decodeRegisterReply } from './decoders.js';
import type { RegisterReply } from '../domain/identity.js';
import type { MasterResult } from '../domain/master-result.js';
import { classify, isJsonObject, parseRetryAfter, transient } from './reply-status.js';
import type { HttpMasterClientOptions, MasterStats } from './client-options.js';

export type { HttpMasterClientOptions, MasterStats } from './client-options.js';

export interface RegisterRequest {
  display_name: string;
  version: string;
  agent_version: string;
  supported_protocol_versions: number[];
  /** What this agent can do beyond the base protocol; the master replaces its list at every registration. */
  capabilities?: string[];
  agent_id?: string;
}

/** The acknowledgement of a decommission step (docs/protocol.md §13.4); `operation_id` is added by the client. */
export type DecommissionAck = Readonly<Record<string, string | boolean | null>>;

export interface MasterClient {
  register(body: RegisterRequest, signal?: AbortSignal): Promise<MasterResult<RegisterReply>>;
  fetchCommands(
    agentId: string,
    signal?: AbortSignal,
  ): Promise<MasterResult<{ commands: unknown[]; warning: string | null }>>;
  postEvent(
    agentId: string,
    body: Readonly<Record<string, unknown>>,
    signal?: AbortSignal,
  ): Promise<MasterResult<{ code: string | null }>>;
  /** 200 with code `acknowledged` is the only success; anything else comes back as a failure. */
  ackDecommission(
    agentId: string,
    operationId: string,
    body: DecommissionAck,
    signal?: AbortSignal,
  ): Promise<MasterResult<{ code: string | null }>>;
  /** Time of the last 2xx from any endpoint, for /health (docs/protocol.md §12). */
  readonly lastSuccessAt: number | null;
}

/** How long an idle connection to the master is kept when the server announces no shorter Keep-Alive timeout. */
const IDLE_SOCKET_MS = 60_000;

export class HttpMasterClient implements MasterClient {
  private apiKey: string;
  private lastOk: number | null = null;
  private lastOkMono: number | null = null;
  private readonly counters: MasterStats = { requests: 0, failures: 0, lastLatencyMs: null, latencySumMs: 0 };
  private readonly agent: http.Agent;
  private readonly base: string;

  constructor(private readonly opts: HttpMasterClientOptions) {
    this.apiKey = opts.apiKey;
    this.base = opts.baseUrl.replace(/\/+$/, '');
    const url = new URL(this.base);
    if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
      opts.log.warn(
        { event: 'master_plain_http', host: url.hostname, risk: 'the agent key travels unencrypted' },
        'master url is plain http',
      );
    }
    // Without a keep-alive agent every request, every event of a burst, would pay a new TCP (and TLS) handshake.
    // One keep-alive agent reuses connections; Node closes an idle one a second before the server's announced
    // Keep-Alive timeout, so a reused socket is rarely one being closed.
    const keepAlive = { keepAlive: true, timeout: IDLE_SOCKET_MS, maxFreeSockets: 2, scheduling: 'lifo' as const };
    this.agent =
      url.protocol === 'https:'
        ? new https.Agent({
            ...keepAlive,
            ...(opts.caFile !== undefined ? { ca: [...rootCertificates, readFileSync(opts.caFile, 'utf8')] } : {}),
          })
        : new http.Agent(keepAlive);
  }

  get lastSuccessAt(): number | null {
    return this.lastOk;
  }

  /** How long ago the last success was, on the monotonic clock (a clock step must not make the master look near). */
  get lastSuccessAgeMs(): number | null {
    return this.lastOkMono === null ? null : this.opts.clock.monotonic() - this.lastOkMono;
  }

  /** Request counters and latency, for /metrics. */
  stats(): Readonly<MasterStats> {
    return { ...this.counters };
  }

  async register(body: RegisterRequest, signal?: AbortSignal): Promise<MasterResult<RegisterReply>> {
    const res = await this.request('POST', '/api/v2/agents/register', body, signal);
    if (!res.ok) return res;
    // docs/protocol.md §3.3: success is 200 or 201 with an agent id; any other 2xx is not a registration.
    if (res.status !== 200 && res.status !== 201)
      return transient(res.status, `unexpected ${res.status} reply to register`);
    const decoded = decodeRegisterReply(res.value);
    return decoded.ok
      ? { ok: true, status: res.status, value: decoded.value }
      : transient(res.status, `undecodable register reply: ${decoded.reason}`);
  }

  async fetchCommands(
    agentId: string,
    signal?: AbortSignal,
  ): Promise<MasterResult<{ commands: unknown[]; warning: string | null }>> {
    const res = await this.request('GET', `/api/v2/agents/${encodeURIComponent(agentId)}/commands`, undefined, signal);
    if (!res.ok) return res;
    return { ok: true, status: res.status, value: decodeCommandsReply(res.value) };
  }

  async postEvent(
    agentId: string,
    body: Readonly<Record<string, unknown>>,
    signal?: AbortSignal,
  ): Promise<MasterResult<{ code: string | null }>> {
    const res = await this.request('POST', `/api/v2/agents/${encodeURIComponent(agentId)}/events`, body, signal);
    if (!res.ok) return res;
    const decoded = decodeEventReply(res.value);
    return decoded.ok
      ? { ok: true, status: res.status, value: decoded.value }
      : transient(res.status, `undecodable event reply: ${decoded.reason}`);
  }

  async ackDecommission(
    agentId: string,
    operationId: string,
    body: DecommissionAck,
    signal?: AbortSignal,
  ): Promise<MasterResult<{ code: string | null }>> {
    const path = `/api/v2/agents/${encodeURIComponent(agentId)}/decommission/${encodeURIComponent(operationId)}/ack`;
    const res = await this.request('POST', path, { ...body, operation_id: operationId }, signal);
    if (!res.ok) return res;
    const decoded = decodeEventReply(res.value);
    if (!decoded.ok) return transient(res.status, `undecodable acknowledgement reply: ${decoded.reason}`);
    if (res.status !== 200 || decoded.value.code !== 'acknowledged')
      return transient(
        res.status,
        `unexpected ${res.status} reply (${decoded.value.code ?? 'no code'}) to an acknowledgement`,
      );
    return { ok: true, status: res.status, value: decoded.value };
  }

  private headers(hasBody: boolean): Record<string, string> {
    const h: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`,
      Accept: 'application/json',
      'User-Agent': this.opts.userAgent,
    };
    if (hasBody) h['Content-Type'] = 'application/json';
    if (this.opts.access) {
      h['CF-Access-Client-Id'] = this.opts.access.clientId;
      h['CF-Access-Client-Secret'] = this.opts.access.clientSecret;
    }
    return h;
  }

  /**
   * One request. With a key file, a 401 reads the file again: another key there sends the same request again at once
   * with it; the same key makes the 401 a transient failure (retried, nothing dropped) until the file changes.
   */
  private async request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<MasterResult<unknown>> {
    const keyUsed = this.apiKey;
    const result = await this.send(method, path, body, signal);
    if (result.ok || result.failure.kind !== 'unauthorized' || this.opts.reloadKey === undefined) return result;
    // Another request may have read the new key while this one was out with the old one (a heartbeat and a status
    // report are out together): then this one is sent again at once too, not after a backoff.
    if (this.apiKey !== keyUsed || (await this.keyChanged())) return this.send(method, path, body, signal);
    // The key comes from a file: a refused key is being rolled (on the master first, then in the file). Retried
    // with backoff rather than given up, so no queued event is dropped in between.
    return transient(401, 'key refused; waiting for a new key in DOCKFLARE_API_KEY_FILE');
  }

  /** Reads the key again; true when it changed (the redactor keeps the new one for the whole run). */
  private async keyChanged(): Promise<boolean> {
    const next = (await this.opts.reloadKey?.()) ?? null;
    if (next === null || next === this.apiKey) return false;
    this.opts.redactor.pin(next);
    this.apiKey = next;
    this.opts.log.info({ event: 'api_key_reloaded' }, 'agent key read again');
    return true;
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<MasterResult<unknown>> {
    // A request asked for after its owner ended is simply not sent.
    if (signal?.aborted) return transient(null, 'aborted');
    const timeout = new AbortController();
    const timer = this.opts.clock.setTimeout(() => {
      timeout.abort();
    }, this.opts.timeoutMs);
    // AbortSignal.any keeps a reference per call on a long-lived signal under Node 20: link by hand instead.
    const onOuterAbort = (): void => {
      timeout.abort();
    };
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (signal?.aborted) timeout.abort();
    const combined = timeout.signal;
    const began = this.opts.clock.monotonic();
    this.counters.requests++;
    const init: RequestInit = {
      // compress: false: the replies are a few hundred bytes of JSON; asking for gzip only adds a decoder
      // pipeline per request (measured ~15 % of node-fetch's allocations per request).
      method,
      headers: this.headers(body !== undefined),
      signal: combined,
      redirect: 'manual',
      compress: false,
      size: this.opts.maxReplyBytes ?? 1024 * 1024,
      agent: this.agent,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    };
    try {
      const res = await fetch(this.base + path, init);
      // text() keeps a byte order mark, which JSON.parse refuses: a BOM-prefixed JSON reply is still JSON.
      const raw = await res.text();
      const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.opts.clock.now());
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (res.status >= 200 && res.status < 300) {
        if (!isJsonObject(json)) {
          return transient(
            res.status,
            `reply is not a JSON object (content-type ${res.headers.get('content-type') ?? 'none'})`,
          );
        }
        this.lastOk = this.opts.clock.now();
        this.lastOkMono = this.opts.clock.monotonic();
        this.noteLatency(began);
        return { ok: true, status: res.status, value: json };
      }
      this.counters.failures++;
      this.noteLatency(began);
      // The master answers every error in JSON: a 401, 403 or 404 page from a proxy or an Access login in front of
      // it says nothing about our key or record, and acting on it would drop events and re-register in vain.
      if (res.status >= 400 && res.status < 500 && !isJsonObject(json)) {
        return transient(
          res.status,
          `HTTP ${res.status} with a reply that is not JSON (content-type ${res.headers.get('content-type') ?? 'none'}): a proxy or login page in front of the master?`,
          retryAfterMs,
        );
      }
      return { ok: false, failure: classify(res.status, json, retryAfterMs) };
    } catch (err) {
      this.counters.failures++;
      const e = err as Error & { type?: string; code?: string };
      const reason = signal?.aborted
        ? 'aborted'
        : timeout.signal.aborted
          ? `timed out after ${this.opts.timeoutMs} ms`
          : e.type === 'max-size'
            ? 'reply too large'
            : // node-fetch's TypeErrors quote the offending header value, which may be a key read from a file.
              e.name === 'TypeError'
              ? `invalid request (${e.code ?? 'a header value or the URL'})`
              : `${e.code ?? e.name}: ${this.opts.redactor.redact(e.message)}`;
      // node-fetch 2 leaves the request open after refusing an oversized reply: end it, or its socket and the
      // download would run on unbounded.
      timeout.abort();
      return transient(null, reason);
    } finally {
      timer.cancel();
      signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  private noteLatency(began: number): void {
    const ms = this.opts.clock.monotonic() - began;
    this.counters.lastLatencyMs = ms;
    this.counters.latencySumMs += ms;
  }
}
