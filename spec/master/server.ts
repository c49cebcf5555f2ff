/**
 * TestMaster: an in-process imitation of a DockFlare master's agent API (docs/protocol.md, as the master implements it)
 * on 127.0.0.1, speaking either v1 or v2. Every request is recorded, faults can be injected per endpoint, and the
 * scenario hooks change state exactly as the admin routes do. It answers hostile input with 4xx and never throws out of
 * a handler.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type {
  AcceptedEvent,
  AgentRecord,
  FaultRule,
  MasterMode,
  RecordedRequest,
  Reply,
  TestMasterOptions,
} from './types.js';
import { FaultList, faultOutgoing, HeldWaiters, jsonOutgoing, type AgentEndpoint, type Outgoing } from './faults.js';
import * as io from './http-io.js';
import { RequestLog } from './recorder.js';
import { parseJson, type RequestContext } from './request.js';
import { routeOf } from './routes.js';
import { MasterState } from './state.js';
import type { Decommissions } from './decommission-ops.js';
import { agentEndpoint, dispatchRoute, eventTypeOf, proposedId } from './dispatch.js';

interface Settings {
  decommissionTimeoutMs: number;
  masterKey: string;
  maxRequestBytes: number;
  maxContainers: number;
}

export class TestMaster {
  readonly url: string;
  private currentMode: MasterMode;
  private readonly state: MasterState;
  private readonly log = new RequestLog();
  private readonly faults = new FaultList();
  private readonly sockets = new Set<Socket>();
  /** Cancels for slow replies still waiting; stop() fires them all. */
  private readonly delays = new Set<() => void>();
  /** Waiters for a request held by a `slow` fault, by endpoint. */
  private readonly held = new HeldWaiters();
  private seq = 0;
  private accepted = 0;
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly server: http.Server,
    port: number,
    mode: MasterMode,
    private readonly settings: Settings,
    enrollmentRequired: boolean,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.currentMode = mode;
    this.state = new MasterState(enrollmentRequired, settings.decommissionTimeoutMs);
    server.on('connection', (socket: Socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
      });
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      // handle() catches its own errors; this is the last line of defence against an unhandled rejection.
      this.handle(req, res).catch(() => {
        req.socket.destroy();
      });
    });
    // Garbage that is not even HTTP: close the connection; the server itself must survive it.
    server.on('clientError', (_err, socket: Socket) => {
      socket.destroy();
    });
  }

  static async start(options: TestMasterOptions): Promise<TestMaster> {
    if (options.mode !== 'v1' && options.mode !== 'v2') throw new Error(`test master: mode must be 'v1' or 'v2'`);
    const server = http.createServer();
    server.keepAliveTimeout = options.keepAliveTimeoutMs ?? io.MASTER_IDLE_CONNECTION_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('test master: no TCP address');
    return new TestMaster(
      server,
      address.port,
      options.mode,
      {
        decommissionTimeoutMs: options.decommissionTimeoutMs ?? 180_000,
        masterKey: options.masterKey ?? 'test-master-admin-key',
        maxRequestBytes: options.maxRequestBytes ?? 64 * 1024,
        maxContainers: options.maxContainers ?? 500,
      },
      options.enrollmentRequired ?? true,
    );
  }

  get mode(): MasterMode {
    return this.currentMode;
  }

  /**
   * The master upgraded or downgraded in place: same records and keys, the other protocol from the next request.
   * Keys held by a record are bound to it, as an upgraded master's key store would have them.
   */
  switchMode(mode: MasterMode): void {
    this.currentMode = mode;
    this.state.bindRecordKeys();
  }

  /** TCP connections accepted so far: shows whether a client reuses its connections. */
  get connectionsAccepted(): number {
    return this.accepted;
  }

  /** Closes the listener and every socket and cancels slow replies (recorded with status 0). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  get requests(): RecordedRequest[] {
    return this.log.requests;
  }

  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs?: number, what?: string): Promise<RecordedRequest> {
    return this.log.waitForCount(pred, 1, timeoutMs, what).then((rs) => rs[0]!);
  }

  waitForCount(pred: (r: RecordedRequest) => boolean, count: number, timeoutMs?: number): Promise<RecordedRequest[]> {
    return this.log.waitForCount(pred, count, timeoutMs);
  }

  acceptedEvents(agentId?: string): AcceptedEvent[] {
    return this.state.acceptedEvents(agentId);
  }
  generateKey(owner?: string): string {
    return this.state.generateKey(owner);
  }
  revokeKey(key: string): void {
    this.state.revokeKey(key);
  }
  rollKey(agentId: string): string {
    return this.state.rollKey(agentId);
  }
  enroll(agentId: string, tunnelName: string): { tunnelId: string; token: string } {
    return this.state.enroll(agentId, tunnelName);
  }
  redeploy(agentId: string): void {
    this.state.redeploy(agentId);
  }
  queueCommand(agentId: string, command: Record<string, unknown>): void {
    this.state.queueCommand(agentId, command);
  }
  removeAgent(agentId: string): void {
    this.state.removeAgent(agentId);
  }
  dropSession(agentId: string): void {
    this.state.dropSession(agentId);
  }
  /** The decommission operations (v2 mode): start, look at and steer them as the admin routes and time do. */
  get decommissions(): Decommissions {
    if (this.mode !== 'v2') throw new Error('test master: decommissions exist on a v2 master only');
    return this.state.decommissions;
  }
  /** The key's status as the master keeps it; undefined for a key it never issued. */
  keyStatus(key: string): 'active' | 'revoked' | undefined {
    return this.state.keys.get(key)?.status;
  }
  /** The live record (not a copy), so a scenario can also arrange state the API has no hook for. */
  agent(agentId: string): AgentRecord | undefined {
    return this.state.records.get(agentId);
  }
  agents(): AgentRecord[] {
    return [...this.state.records.values()];
  }
  addFault(rule: FaultRule): void {
    this.faults.add(rule);
  }
  /** Resolves once a request on `endpoint` arrives and is held by a `slow` fault: its reply is still to come. */
  waitForHeld(endpoint: AgentEndpoint, timeoutMs = 10_000): Promise<void> {
    return this.held.wait(endpoint, timeoutMs);
  }
  clearFaults(): void {
    this.faults.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const seq = ++this.seq;
    const at = Date.now();
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const route = routeOf(target);
    const headers = io.flattenHeaders(req.headers);
    let read: io.BodyRead = { text: '', bytes: 0, oversize: false };
    const ctx: RequestContext = { headers, rawBody: '', parsed: { ok: false } };
    const record = (status: number, response: unknown, reply?: Reply): void => {
      this.log.add({
        seq,
        at,
        method,
        path: target,
        endpoint: route.endpoint,
        agentId: reply?.agentId ?? route.agentId ?? proposedId(route, ctx),
        headers,
        rawBody: read.text,
        body: ctx.parsed.ok ? ctx.parsed.value : undefined,
        status,
        response,
      });
    };
    try {
      read = await io.readBody(req, this.settings.maxRequestBytes);
    } catch {
      record(0, undefined);
      return;
    }
    ctx.rawBody = read.text;
    ctx.parsed = read.oversize ? { ok: false } : parseJson(read.text);

    const endpoint = agentEndpoint(route);
    const fault = endpoint === undefined ? undefined : this.faults.take(endpoint, eventTypeOf(ctx));
    const answer = (): Reply =>
      dispatchRoute({ state: this.state, mode: this.mode, ...this.settings }, method, route, ctx, read.oversize);
    const respond = (reply: Reply): void => {
      this.send(res, jsonOutgoing(reply), reply, record);
    };
    if (fault === undefined || endpoint === undefined) {
      respond(answer());
      return;
    }
    switch (fault.kind) {
      case 'drop':
        req.socket.destroy();
        record(0, undefined);
        return;
      case 'drop-after-apply': {
        const reply = answer();
        req.socket.destroy();
        record(0, reply.body, reply);
        return;
      }
      case 'slow':
        this.held.arrived(endpoint);
        if (!(await this.delay(fault.delayMs))) {
          req.socket.destroy();
          record(0, undefined);
          return;
        }
        respond(answer());
        return;
      case 'status':
      case 'malformed':
      case 'html':
      case 'huge':
      case 'wrong-types':
        this.send(res, faultOutgoing(fault, endpoint), undefined, record);
        return;
    }
  }

  private send(
    res: ServerResponse,
    out: Outgoing,
    reply: Reply | undefined,
    record: (status: number, response: unknown, reply?: Reply) => void,
  ): void {
    const delivered = io.writeOutgoing(res, out);
    record(delivered ? out.status : 0, out.recorded, reply);
  }

  /** Resolves true after `ms`, or false at once if stop() cancels it first. */
  private delay(ms: number): Promise<boolean> {
    return this.stopping ? Promise.resolve(false) : io.cancellableDelay(ms, this.delays);
  }

  private async shutdown(): Promise<void> {
    for (const cancel of [...this.delays]) cancel();
    const closed = new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
    for (const socket of this.sockets) socket.destroy();
    await closed;
    this.log.close();
  }
}
