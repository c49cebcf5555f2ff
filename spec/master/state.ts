/**
 * The master's stored state: agent keys, agent records, tunnels, and the log of processed events. The scenario
 * hooks live here so that the in-process API and the admin HTTP routes have exactly the same effects.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AcceptedEvent, AgentRecord } from './types.js';
import { Decommissions } from './decommission-ops.js';

export interface KeyRecord {
  key: string;
  owner: string | null;
  status: 'active' | 'revoked';
  /** Set on first use; survives the removal of the record (docs/protocol.md §10: re-registration then gets 403). */
  boundAgentId: string | null;
  createdAt: number;
}

/** What the master keeps beyond the public record. */
export interface StoredAgent extends AgentRecord {
  registeredAt: number;
  /** An admin rename wins over the display_name the agent sends (the master's `custom_name`). */
  customName: boolean;
}

/** 32 random bytes, URL-safe base64: 43 characters, the shape of both agent keys and v2 session ids. */
export function opaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Shaped like a real connector token (base64 JSON {a, t, s}) so that anything decoding it sees the tunnel id. */
function tunnelToken(tunnelId: string): string {
  const payload = { a: randomBytes(16).toString('hex'), t: tunnelId, s: randomBytes(32).toString('base64') };
  return Buffer.from(JSON.stringify(payload)).toString('base64');
}

export class MasterState {
  readonly keys = new Map<string, KeyRecord>();
  readonly records = new Map<string, StoredAgent>();
  /** The Cloudflare side: tunnels by name, so that enrolling twice with one name finds the same tunnel. */
  private readonly tunnels = new Map<string, { id: string; token: string }>();
  private readonly accepted: (AcceptedEvent & { agentId: string })[] = [];
  readonly decommissions: Decommissions;

  constructor(
    private readonly enrollmentRequired: boolean,
    decommissionTimeoutMs = 180_000,
  ) {
    this.decommissions = new Decommissions(this, decommissionTimeoutMs);
  }

  generateKey(owner?: string): string {
    const key = opaqueToken();
    this.keys.set(key, { key, owner: owner ?? null, status: 'active', boundAgentId: null, createdAt: Date.now() });
    return key;
  }

  /** Valid keys only: unknown and revoked keys authenticate nothing. */
  activeKey(key: string): KeyRecord | undefined {
    const rec = this.keys.get(key);
    return rec?.status === 'active' ? rec : undefined;
  }

  /** Agents using the key lose their binding and return to `pending` (docs/protocol.md §10). */
  revokeKey(key: string): void {
    const rec = this.keys.get(key);
    if (!rec) throw new Error('test master: revokeKey: unknown key');
    rec.status = 'revoked';
    for (const agent of this.records.values()) {
      if (agent.key === key) {
        agent.key = null;
        agent.status = 'pending';
      }
    }
  }

  /** New key bound to the agent; the old one is revoked at once and nothing tells the agent. Enrolment stays. */
  rollKey(agentId: string): string {
    const agent = this.requireAgent(agentId, 'rollKey');
    const old = agent.key === null ? undefined : this.keys.get(agent.key);
    if (old) old.status = 'revoked';
    const key = this.generateKey(old?.owner ?? undefined);
    this.keys.get(key)!.boundAgentId = agentId;
    agent.key = key;
    return key;
  }

  createAgent(agentId: string): StoredAgent {
    const agent: StoredAgent = {
      agentId,
      key: null,
      displayName: null,
      version: null,
      status: this.enrollmentRequired ? 'pending' : 'enrolled',
      lastSeen: null,
      commands: [],
      protocolVersion: 1,
      sessionId: null,
      lastEventSequence: 0,
      lastReportSequence: 0,
      tunnel: null,
      tunnelStatus: null,
      containers: new Map(),
      lastEvent: null,
      capabilities: [],
      decommissionOperationId: null,
      registeredAt: Date.now(),
      customName: false,
    };
    this.records.set(agentId, agent);
    return agent;
  }

  /** Finds or creates the tunnel by name, sets the agent enrolled and queues start_tunnel (note: `token`). */
  enroll(agentId: string, tunnelName: string): { tunnelId: string; token: string } {
    const agent = this.requireAgent(agentId, 'enroll');
    let tunnel = this.tunnels.get(tunnelName);
    if (!tunnel) {
      const id = randomUUID();
      tunnel = { id, token: tunnelToken(id) };
      this.tunnels.set(tunnelName, tunnel);
    }
    agent.status = 'enrolled';
    agent.tunnel = { name: tunnelName, id: tunnel.id, token: tunnel.token };
    agent.commands.push({ action: 'start_tunnel', tunnel_name: tunnelName, tunnel_id: tunnel.id, token: tunnel.token });
    return { tunnelId: tunnel.id, token: tunnel.token };
  }

  /** "Redeploy tunnel": only for an enrolled agent with a tunnel; queues restart_tunnel (note: `tunnel_token`). */
  redeploy(agentId: string): void {
    const agent = this.requireAgent(agentId, 'redeploy');
    if (!this.canRedeploy(agent))
      throw new Error(`test master: redeploy: agent ${agentId} is not enrolled with a tunnel`);
    const t = agent.tunnel!;
    agent.commands.push({ action: 'restart_tunnel', tunnel_name: t.name, tunnel_id: t.id, tunnel_token: t.token });
  }

  canRedeploy(agent: AgentRecord): boolean {
    return agent.status === 'enrolled' && agent.tunnel !== null;
  }

  queueCommand(agentId: string, command: Record<string, unknown>): void {
    this.requireAgent(agentId, 'queueCommand').commands.push({ ...command });
  }

  rename(agentId: string, displayName: string): void {
    const agent = this.requireAgent(agentId, 'rename');
    agent.displayName = displayName;
    agent.customName = true;
  }

  /** Deletes the record only: keys stay bound to the dead id, which is what makes a v2 re-registration 403. */
  removeAgent(agentId: string): void {
    this.requireAgent(agentId, 'removeAgent');
    this.records.delete(agentId);
  }

  /** Each record's key bound to it where the key is not bound yet (a v1 master binds on the record side only). */
  bindRecordKeys(): void {
    for (const agent of this.records.values()) {
      const key = agent.key === null ? undefined : this.keys.get(agent.key);
      if (key && key.boundAgentId === null) key.boundAgentId = agent.agentId;
    }
  }

  /** Forgets the v2 session, as a master restart would: the next v2 event gets 409 registration_required. */
  dropSession(agentId: string): void {
    this.requireAgent(agentId, 'dropSession').sessionId = null;
  }

  /** Registration fields both protocol versions refresh. */
  refreshFromRegistration(agent: StoredAgent, body: Record<string, unknown>): void {
    agent.lastSeen = Date.now();
    if (!agent.customName) {
      const name = nonEmptyString(body.display_name) ?? nonEmptyString(body.hostname);
      agent.displayName = name ?? `agent-${agent.agentId.slice(0, 8)}`;
    }
    const version = nonEmptyString(body.version) ?? nonEmptyString(body.agent_version);
    if (version !== undefined) agent.version = version;
    // As the master: a non-list is none; strings of at most 64 characters, the first 32 kept; replaced every time.
    const caps: unknown = body.capabilities;
    agent.capabilities = Array.isArray(caps)
      ? caps.filter((c): c is string => typeof c === 'string' && c.length <= 64).slice(0, 32)
      : [];
  }

  /** Records a processed event: last_seen, last_event and the accepted log. */
  accept(agent: AgentRecord, body: Record<string, unknown>): void {
    const at = Date.now();
    agent.lastSeen = at;
    agent.lastEvent = body;
    this.accepted.push({ agentId: agent.agentId, type: typeof body.type === 'string' ? body.type : '', body, at });
  }

  acceptedEvents(agentId?: string): AcceptedEvent[] {
    return this.accepted
      .filter((e) => agentId === undefined || e.agentId === agentId)
      .map(({ type, body, at }) => ({ type, body, at }));
  }

  private requireAgent(agentId: string, hook: string): StoredAgent {
    const agent = this.records.get(agentId);
    if (!agent) throw new Error(`test master: ${hook}: no agent ${agentId}`);
    return agent;
  }
}

export function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}
