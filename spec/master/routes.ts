/**
 * URL → endpoint. Only the path decides the endpoint (so a wrong method is still recorded against it and
 * answered 405); the query string is ignored, and the agent id is percent-decoded.
 */
import type { Endpoint } from './types.js';

export type AdminAction =
  | 'generate-key'
  | 'revoke-key'
  | 'list'
  | 'enroll'
  | 'redeploy-tunnel'
  | 'roll-key'
  | 'rename'
  | 'remove'
  | 'decommission'
  | 'operation'
  | 'operation-retry'
  | 'operation-force';

export interface Route {
  endpoint: Endpoint;
  /** The method this path answers; anything else is 405. */
  method: 'GET' | 'POST' | null;
  agentId: string | null;
  action?: AdminAction;
  /** A decommission operation's id, for its acknowledgement and its admin routes. */
  operationId?: string;
}

const BASE = '/api/v2/agents';
const AGENT_ACTIONS: Record<string, AdminAction> = {
  enroll: 'enroll',
  'redeploy-tunnel': 'redeploy-tunnel',
  'roll-key': 'roll-key',
  rename: 'rename',
  remove: 'remove',
  decommission: 'decommission',
};
const OPERATION_ACTIONS: Record<string, AdminAction> = { retry: 'operation-retry', force: 'operation-force' };

export function routeOf(target: string): Route {
  const pathname = target.split('?')[0]!;
  if (pathname === BASE) return { endpoint: 'admin', method: 'GET', agentId: null, action: 'list' };
  if (pathname === `${BASE}/register`) return { endpoint: 'register', method: 'POST', agentId: null };
  if (pathname === `${BASE}/generate-key`)
    return { endpoint: 'admin', method: 'POST', agentId: null, action: 'generate-key' };
  if (pathname === `${BASE}/revoke-key`)
    return { endpoint: 'admin', method: 'POST', agentId: null, action: 'revoke-key' };
  const ack = /^\/api\/v2\/agents\/([^/]+)\/decommission\/([^/]+)\/ack$/.exec(pathname);
  if (ack) {
    const [id, op] = [decode(ack[1]!), decode(ack[2]!)];
    if (id !== undefined && op !== undefined) return { endpoint: 'ack', method: 'POST', agentId: id, operationId: op };
  }
  const opRoute = /^\/api\/v2\/agent-decommissions\/([^/]+)(?:\/([^/]+))?$/.exec(pathname);
  const opId = opRoute ? decode(opRoute[1]!) : undefined;
  if (opRoute && opId !== undefined) {
    if (opRoute[2] === undefined)
      return { endpoint: 'admin', method: 'GET', agentId: null, action: 'operation', operationId: opId };
    const action = Object.hasOwn(OPERATION_ACTIONS, opRoute[2]) ? OPERATION_ACTIONS[opRoute[2]] : undefined;
    if (action) return { endpoint: 'admin', method: 'POST', agentId: null, action, operationId: opId };
  }
  const m = /^\/api\/v2\/agents\/([^/]+)\/([^/]+)$/.exec(pathname);
  const agentId = m ? decode(m[1]!) : undefined;
  if (!m || agentId === undefined) return { endpoint: 'other', method: null, agentId: null };
  const tail = m[2]!;
  if (tail === 'commands') return { endpoint: 'commands', method: 'GET', agentId };
  if (tail === 'events') return { endpoint: 'events', method: 'POST', agentId };
  const action = Object.hasOwn(AGENT_ACTIONS, tail) ? AGENT_ACTIONS[tail] : undefined;
  if (action) return { endpoint: 'admin', method: 'POST', agentId, action };
  return { endpoint: 'other', method: null, agentId: null };
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
