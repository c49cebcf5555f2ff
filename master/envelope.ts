/**
 * Event bodies as the master reads them (docs/protocol.md §5): the v2 envelope with session and sequence, or the
 * v1 shape; status reports in the v2 top-level form or the v1 nested form; tunnel_status fields at the top level.
 */
import type { ContainerInfo } from '../domain/container.js';
import type { Identity } from '../domain/identity.js';
import type { OutboundEvent, Scan } from '../domain/outbound.js';

/** `2026-01-15T09:30:00.123000+00:00`, the form the original agent sends (Python isoformat, UTC). */
export function masterTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

function envelope(
  identity: Identity,
  type: string,
  timestamp: string,
  seqField: 'event_sequence' | 'report_sequence',
  seq: number,
): Record<string, unknown> {
  if (identity.protocolVersion === 1) return { type, timestamp };
  return { type, protocol_version: 2, agent_session_id: identity.sessionId, [seqField]: seq, timestamp };
}

function containerBody(c: ContainerInfo): Record<string, unknown> {
  const body = { id: c.id, name: c.name, status: c.status, labels: { ...c.labels } };
  if (c.swarm === undefined) return body;
  // Extra keys the master passes over: it routes by name, which is what cloudflared resolves on the overlay network.
  const { serviceId, replicasRunning, replicasDesired } = c.swarm;
  return {
    ...body,
    mode: 'swarm',
    service_id: serviceId,
    replicas_running: replicasRunning,
    replicas_desired: replicasDesired,
  };
}

export function buildEventBody(identity: Identity, event: OutboundEvent, seq: number): Record<string, unknown> {
  const base = envelope(identity, event.type, event.timestamp, 'event_sequence', seq);
  switch (event.type) {
    case 'container_start':
    case 'container_stop':
      return { ...base, container: containerBody(event.container) };
    case 'tunnel_status':
      return { ...base, status: event.status, name: event.name, version: event.version };
  }
}

export function buildHeartbeat(
  identity: Identity,
  seq: number,
  timestamp: string,
  health: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const base = envelope(identity, 'heartbeat', timestamp, 'event_sequence', seq);
  return health ? { ...base, health } : base;
}

/**
 * v2: complete only from a successful scan; a failed scan says so and sends no list. v1: a failed scan sends
 * nothing at all (returns null), because a v1 master takes any list as the whole truth and deletes the rest.
 */
export function buildStatusReport(
  identity: Identity,
  scan: Scan,
  seq: number,
  timestamp: string,
): Record<string, unknown> | null {
  if (identity.protocolVersion === 1) {
    if (!scan.ok) return null;
    return { type: 'status_report', timestamp, container: { containers: scan.containers.map(containerBody) } };
  }
  const base = envelope(identity, 'status_report', timestamp, 'report_sequence', seq);
  if (!scan.ok) return { ...base, inventory_complete: false };
  return {
    ...base,
    inventory_complete: true,
    inventory_scope: 'dockflare_enabled_running',
    containers: scan.containers.map(containerBody),
  };
}
