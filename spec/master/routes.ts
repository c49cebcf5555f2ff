/**
 * URL → endpoint. Only the path decides the endpoint (so a wrong method is still recorded against it and
 * answered 405); the query string is ignored, and the agent id is percent-decoded.
 */
import type { Endpoint } from './types.js';

export type AdminAction =
  'generate-key' | 'revoke-key' | 'list' | 'enroll' | 'redeploy-tunnel' | 'roll-key' | 'rename' | 'remove';

export interface Route {
  endpoint: Endpoint;
  /** The method this path answers; anything else is 405. */
  method: 'GET' | 'POST' | null;
  agentId: string | null;
  action?: AdminAction;
}

const BASE = '/api/v2/agents';
const AGENT_ACTIONS: Record<string, AdminAction> = {
  enroll: 'enroll',
  'redeploy-tunnel': 'redeploy-tunnel',
  'roll-key': 'roll-key',
  rename: 'rename',
  remove: 'remove',
};

export function routeOf(target: string): Route {
  const pathname = target.split('?')[0]!;
  if (pathname === BASE) return { endpoint: 'admin', method: 'GET', agentId: null, action: 'list' };
  if (pathname === `${BASE}/register`) return { endpoint: 'register', method: 'POST', agentId: null };
  if (pathname === `${BASE}/generate-key`)
    return { endpoint: 'admin', method: 'POST', agentId: null, action: 'generate-key' };
  if (pathname === `${BASE}/revoke-key`)
    return { endpoint: 'admin', method: 'POST', agentId: null, action: 'revoke-key' };
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
