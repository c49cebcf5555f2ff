/**
 * Public shapes of the test master (spec/master). Other specs and the demo code against these names, so they
 * change only together with every caller. Wire field names stay snake_case on the wire and camelCase here.
 */
export type MasterMode = 'v1' | 'v2';

export interface TestMasterOptions {
  mode: MasterMode;
  /** Admin key for the /api/v2/agents/* admin routes. Default 'test-master-admin-key'. */
  masterKey?: string;
  /** Request bodies above this many bytes get 413. Default 64 KiB. */
  maxRequestBytes?: number;
  /** v2 status reports listing more containers than this get 413. Default 500. */
  maxContainers?: number;
  /** New agents start `pending` (true, the default) or `enrolled` (AGENT_ENROLLMENT_REQUIRED=false). */
  enrollmentRequired?: boolean;
  /** Port on 127.0.0.1; default 0 (ephemeral). A fixed port lets a demo restart "the same" master. */
  port?: number;
  /**
   * How long the server keeps an idle connection (http.Server#keepAliveTimeout). Default MASTER_IDLE_CONNECTION_MS,
   * the real master's 360 s; Node's own default (5 s) models a server that closes idle connections early.
   */
  keepAliveTimeoutMs?: number;
  /** AGENT_DECOMMISSION_TIMEOUT_SECONDS in ms; default 180 s. */
  decommissionTimeoutMs?: number;
}

export type Endpoint = 'register' | 'commands' | 'events' | 'ack' | 'admin' | 'other';

export interface RecordedRequest {
  /** Arrival order, from 1. `requests` is kept sorted by it even when replies finish out of order (slow faults). */
  seq: number;
  /** Date.now() at receipt. */
  at: number;
  method: string;
  /** The request target as sent, query string included. */
  path: string;
  endpoint: Endpoint;
  /** The id in the path; for register the id the master resolved (else the proposed one, else null). */
  agentId: string | null;
  /** Lower-cased names; repeated headers joined with ', '. Includes Authorization: this is a test fixture. */
  headers: Record<string, string>;
  /** At most maxRequestBytes of the body (an oversized body is cut there). */
  rawBody: string;
  /** Parsed JSON, or undefined when the body was empty, oversized or not JSON. */
  body: unknown;
  /** 0 when the agent never saw a reply: dropped by a fault, cancelled by stop(), or the client had gone. */
  status: number;
  /** The JSON body sent (or that would have been sent); fault bodies that are not JSON as a short string. */
  response: unknown;
}

export type Fault =
  | { kind: 'status'; status: number; body?: unknown; retryAfterSeconds?: number }
  | { kind: 'drop' }
  | { kind: 'drop-after-apply' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'malformed' }
  /** A page in front of the master (Cloudflare Access, a proxy's error page), 200 unless told. */
  | { kind: 'html'; status?: number }
  | { kind: 'huge'; bytes: number }
  | { kind: 'wrong-types' };

export type FaultEndpoint = 'register' | 'commands' | 'events' | 'ack' | 'any';

export interface FaultRule {
  fault: Fault;
  /** Default 'any' (the three agent endpoints; admin routes are never faulted). */
  endpoint?: FaultEndpoint;
  /** Only events whose body has this `type` (acknowledgements: this `phase`). */
  eventType?: string;
  /** How many requests the rule hits before it disappears; default unlimited. */
  times?: number;
}

export interface ContainerRecord {
  name: string;
  labels: Record<string, string>;
  state: 'active' | 'pending_deletion';
}

export interface AgentRecord {
  agentId: string;
  /** The agent key bound to this record (v1: the record's key slot). Null after the key was revoked. */
  key: string | null;
  displayName: string | null;
  version: string | null;
  status: 'pending' | 'enrolled';
  lastSeen: number | null;
  commands: Record<string, unknown>[];
  protocolVersion: 1 | 2;
  sessionId: string | null;
  lastEventSequence: number;
  lastReportSequence: number;
  tunnel: { name: string; id: string; token: string } | null;
  tunnelStatus: { status: string; name: string | null; version: string | null } | null;
  /** Stands in for the master's rules, keyed by container id. */
  containers: Map<string, ContainerRecord>;
  lastEvent: unknown;
  /** What the last registration declared (replaced each time; v3.1.4 line). */
  capabilities: string[];
  /** Set while a decommission operation runs for this agent. */
  decommissionOperationId: string | null;
}

export interface AcceptedEvent {
  type: string;
  body: Record<string, unknown>;
  at: number;
}

/** A JSON reply a handler decided on. `agentId` lets register report the id it resolved to the recorder. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  agentId?: string;
}
