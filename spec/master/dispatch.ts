/**
 * The test master's routing: which handler answers a request, as the real master's Flask routes do, and what a
 * request is recorded as.
 */
import { handleAdmin } from './admin.js';
import { handleCommands } from './commands.js';
import { handleAck } from './decommission-ack.js';
import { eventsV2 } from './events-v2.js';
import type { AgentEndpoint } from './faults.js';
import { eventsV1, registerV1 } from './handlers-v1.js';
import { registerV2 } from './handlers-v2.js';
import { methodNotAllowed, notFound, tooLarge, v2Error } from './replies.js';
import { isRecord, type RequestContext } from './request.js';
import type { Route } from './routes.js';
import type { MasterState } from './state.js';
import type { MasterMode, Reply } from './types.js';

export function dispatchRoute(
  master: { state: MasterState; mode: MasterMode; masterKey: string; maxRequestBytes: number; maxContainers: number },
  method: string,
  route: Route,
  ctx: RequestContext,
  oversize: boolean,
): Reply {
  try {
    if (route.method === null) return notFound();
    if (method !== route.method) return methodNotAllowed(route.method);
    // The acknowledgement checks the bearer before the size, as the master does.
    if (route.endpoint === 'ack')
      return master.mode === 'v2'
        ? handleAck(
            master.state,
            master.state.decommissions,
            ctx,
            route.agentId ?? '',
            route.operationId ?? '',
            oversize,
          )
        : notFound();
    if (oversize) return tooLarge(master.mode, `Request body exceeds ${master.maxRequestBytes} bytes.`);
    const agentId = route.agentId ?? '';
    switch (route.endpoint) {
      case 'register':
        return master.mode === 'v2' ? registerV2(master.state, ctx) : registerV1(master.state, ctx);
      case 'commands':
        return handleCommands(master.state, master.mode, ctx, agentId);
      case 'events':
        return master.mode === 'v2'
          ? eventsV2(master.state, ctx, agentId, master.maxContainers)
          : eventsV1(master.state, ctx, agentId);
      case 'admin':
        return route.action === undefined
          ? notFound()
          : handleAdmin(master.state, master.mode, master.masterKey, ctx, route);
      case 'other':
        return notFound();
    }
  } catch (err) {
    // A bug in the test master must show up in the spec, not crash the process: the message lands in `response`.
    return v2Error(500, 'processing_failed', `test master error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function agentEndpoint(route: Route): AgentEndpoint | undefined {
  return route.endpoint === 'register' ||
    route.endpoint === 'commands' ||
    route.endpoint === 'events' ||
    route.endpoint === 'ack'
    ? route.endpoint
    : undefined;
}

/** An event's `type`, or an acknowledgement's `phase`: what a fault rule's `eventType` matches. */
export function eventTypeOf(ctx: RequestContext): string | undefined {
  if (!ctx.parsed.ok || !isRecord(ctx.parsed.value)) return undefined;
  const { type, phase } = ctx.parsed.value;
  return typeof type === 'string' ? type : typeof phase === 'string' ? phase : undefined;
}

/** For a register the master refused, the id the agent asked for is the most useful thing to record. */
export function proposedId(route: Route, ctx: RequestContext): string | null {
  if (route.endpoint !== 'register' || !ctx.parsed.ok || !isRecord(ctx.parsed.value)) return null;
  const id = ctx.parsed.value.agent_id;
  return typeof id === 'string' && id !== '' ? id : null;
}
