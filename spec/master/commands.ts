/**
 * GET /api/v2/agents/{id}/commands, identical on both masters: the queue is returned and emptied in the same
 * request (no ids, no acknowledgements), so a reply lost in transit loses its commands. The one exception is a
 * decommission command, served again with every poll until the agent acknowledges it.
 */
import type { RequestContext } from './request.js';
import type { MasterState } from './state.js';
import type { MasterMode, Reply } from './types.js';
import { authenticateAgent, keyFitsAgent } from './auth.js';
import { agentNotFound, keyMismatch } from './replies.js';

export function handleCommands(state: MasterState, mode: MasterMode, ctx: RequestContext, agentId: string): Reply {
  const auth = authenticateAgent(state, mode, ctx);
  if (!auth.ok) return auth.reply;
  // 404 before 403: a removed agent whose key is still bound to its id must learn that the record is gone.
  const agent = state.records.get(agentId);
  if (!agent) return agentNotFound();
  if (!keyFitsAgent(mode, auth.key, agentId, agent.key)) return keyMismatch(mode);
  // The decommission command (v3.1.4 line) comes last and stays until it is acknowledged.
  const durable = mode === 'v2' ? state.decommissions.served(agent) : undefined;
  const commands = durable === undefined ? agent.commands : [...agent.commands, durable];
  agent.commands = [];
  agent.lastSeen = Date.now();
  return { status: 200, body: { status: 'success', commands } };
}
