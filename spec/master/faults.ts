/**
 * Injected failures. Rules are checked in insertion order before normal handling; the first match wins and its
 * `times` counts down. The replies built here are the bodies an agent meets in the wild: proxy outages, an Access
 * login page, truncated JSON, a runaway body, and JSON of the right shape with the wrong types.
 */
import type { Fault, FaultRule, Reply } from './types.js';
import { defaultFaultBody } from './replies.js';

export type AgentEndpoint = 'register' | 'commands' | 'events' | 'ack';

/** What goes on the wire, and what the request log keeps of it. */
export interface Outgoing {
  status: number;
  headers: Record<string, string>;
  text: string;
  recorded: unknown;
}

interface LiveRule {
  rule: FaultRule;
  remaining: number;
}

export class FaultList {
  private rules: LiveRule[] = [];

  add(rule: FaultRule): void {
    validate(rule);
    this.rules.push({ rule: { ...rule, fault: { ...rule.fault } }, remaining: rule.times ?? Infinity });
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault for this request, if any; consumes one use of the matching rule. */
  take(endpoint: AgentEndpoint, eventType: string | undefined): Fault | undefined {
    const live = this.rules.find(({ rule }) => {
      const where = rule.endpoint ?? 'any';
      if (where !== 'any' && where !== endpoint) return false;
      return (
        rule.eventType === undefined || ((endpoint === 'events' || endpoint === 'ack') && rule.eventType === eventType)
      );
    });
    if (!live) return undefined;
    live.remaining -= 1;
    if (live.remaining <= 0) this.rules = this.rules.filter((r) => r !== live);
    return live.rule.fault;
  }
}

function validate(rule: FaultRule): void {
  const f = rule.fault;
  const bad = (why: string): never => {
    throw new Error(`test master: addFault: ${why}`);
  };
  if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1))
    bad('times must be an integer >= 1');
  if (f.kind === 'status' && (!Number.isInteger(f.status) || f.status < 200 || f.status > 599))
    bad('status must be 200..599');
  if (f.kind === 'status' && f.retryAfterSeconds !== undefined && !(f.retryAfterSeconds >= 0))
    bad('retryAfterSeconds must be >= 0');
  if (f.kind === 'slow' && !(Number.isFinite(f.delayMs) && f.delayMs >= 0)) bad('delayMs must be a finite number >= 0');
  if (f.kind === 'huge' && (!Number.isInteger(f.bytes) || f.bytes < 2)) bad('bytes must be an integer >= 2');
}

export function jsonOutgoing(reply: Reply): Outgoing {
  return {
    status: reply.status,
    headers: { 'content-type': 'application/json', ...reply.headers },
    text: JSON.stringify(reply.body),
    recorded: reply.body,
  };
}

type ReplyFault = Exclude<Fault, { kind: 'drop' | 'drop-after-apply' | 'slow' }>;

export function faultOutgoing(fault: ReplyFault, endpoint: AgentEndpoint): Outgoing {
  switch (fault.kind) {
    case 'status': {
      const reply: Reply = { status: fault.status, body: fault.body ?? defaultFaultBody(fault.status) };
      if (fault.retryAfterSeconds !== undefined) reply.headers = { 'retry-after': String(fault.retryAfterSeconds) };
      return jsonOutgoing(reply);
    }
    case 'malformed': {
      const text = '{"status": "success", "code": "registered", "commands": [{"action": "start_tu';
      return { status: 200, headers: { 'content-type': 'application/json' }, text, recorded: text };
    }
    case 'html':
      return {
        status: fault.status ?? 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        text: ACCESS_LOGIN_PAGE,
        recorded: '<html login page>',
      };
    case 'huge':
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        text: hugeJson(fault.bytes),
        recorded: `<${fault.bytes} bytes of JSON>`,
      };
    case 'wrong-types':
      return jsonOutgoing({ status: 200, body: WRONG_TYPES[endpoint] });
  }
}

/** Valid JSON of exactly `bytes` bytes (ASCII, so characters and bytes agree). */
function hugeJson(bytes: number): string {
  const head = '{"status":"success","padding":"';
  const tail = '"}';
  if (bytes < head.length + tail.length) return `{}${' '.repeat(bytes - 2)}`;
  return `${head}${'x'.repeat(bytes - head.length - tail.length)}${tail}`;
}

const WRONG_TYPES: Record<AgentEndpoint, Record<string, unknown>> = {
  register: {
    status: 'success',
    code: 'registered',
    agent_id: 42,
    protocol_version: '2',
    agent_session_id: 7,
    agent: 'x',
  },
  commands: { status: 'success', commands: 'x' },
  events: { status: 1, code: 200, message: ['x'] },
  ack: { status: 'success', code: 7, operation: 'x' },
};

const ACCESS_LOGIN_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in ・ Cloudflare Access</title></head>
<body><div class="login"><h1>Sign in to dockflare.example.com</h1>
<form method="post" action="/cdn-cgi/access/login"><input type="email" name="email"><button>Send me a code</button></form>
</div></body></html>
`;

/** Who waits for a request a `slow` fault holds, by endpoint (TestMaster.waitForHeld). */
export class HeldWaiters {
  private waiters: { endpoint: AgentEndpoint; resolve: () => void }[] = [];

  wait(endpoint: AgentEndpoint, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`test master: no ${endpoint} request held by a slow fault within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({
        endpoint,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  arrived(endpoint: AgentEndpoint): void {
    for (const w of this.waiters.filter((x) => x.endpoint === endpoint)) w.resolve();
    this.waiters = this.waiters.filter((x) => x.endpoint !== endpoint);
  }
}
