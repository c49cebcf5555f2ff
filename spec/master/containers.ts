/**
 * Container objects and their effect on the master's rules (one ContainerRecord per container id stands in for
 * the rules the master derives from its labels). Validation is strict for v2, forgiving for v1, as the masters are.
 */
import * as v from 'valibot';
import type { AgentRecord } from './types.js';
import { isRecord } from './request.js';

const LABEL_PREFIXES = ['dockflare.', 'cloudflare.tunnel.'];
const ENABLE_LABELS = ['dockflare.enable', 'cloudflare.tunnel.enable'];
const TRUTHY = new Set(['true', '1', 't', 'yes']);

export interface ContainerInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
}

// Valibot's object and record take an array as an object of its indices; the master's checks do not.
const notArray = v.custom<Record<string, unknown>>((x) => typeof x === 'object' && x !== null && !Array.isArray(x));
const containerV2 = v.object({
  id: v.pipe(v.string(), v.minLength(1)),
  name: v.string(),
  labels: v.pipe(notArray, v.record(v.string(), v.string())),
  status: v.optional(v.string()),
});

/** A v2 master keeps only its own prefixes; anything else an agent forwards is dropped, not rejected. */
export function filterLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => LABEL_PREFIXES.some((p) => k.startsWith(p))));
}

export function isEnabled(labels: Record<string, string>): boolean {
  return ENABLE_LABELS.some((k) => Object.hasOwn(labels, k) && TRUTHY.has(labels[k]!.toLowerCase()));
}

/** v2: a well-formed container object with filtered labels, or the reason it is malformed. */
export function parseContainerV2(
  value: unknown,
  requireStatus = false,
): { ok: true; container: ContainerInfo } | { ok: false; reason: string } {
  const r = v.safeParse(v.pipe(notArray, containerV2), value, {
    abortEarly: true,
    message: (i: v.BaseIssue<unknown>) => `expected ${i.expected ?? i.type}`,
  });
  if (!r.success) {
    const issue = r.issues[0];
    return { ok: false, reason: `container.${v.getDotPath(issue) ?? ''}: ${issue.message}` };
  }
  if (requireStatus && r.output.status === undefined)
    return { ok: false, reason: 'container.status: required in a status report' };
  return { ok: true, container: { id: r.output.id, name: r.output.name, labels: filterLabels(r.output.labels) } };
}

/** v1: whatever has a string id; non-string label values are skipped. The v1 master stores labels unfiltered. */
export function parseContainerV1(v: unknown): ContainerInfo | undefined {
  if (!isRecord(v) || typeof v.id !== 'string' || v.id === '') return undefined;
  const labels = isRecord(v.labels)
    ? Object.fromEntries(Object.entries(v.labels).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : {};
  return { id: v.id, name: typeof v.name === 'string' ? v.name : '', labels };
}

/** A managed container's rules become (again) active; an unmanaged one derives no rules, so nothing changes. */
export function upsertContainer(agent: AgentRecord, c: ContainerInfo): void {
  if (!isEnabled(c.labels)) return;
  agent.containers.set(c.id, { name: c.name, labels: c.labels, state: 'active' });
}

export function stopContainer(agent: AgentRecord, id: string): void {
  const rec = agent.containers.get(id);
  if (rec?.state === 'active') rec.state = 'pending_deletion';
}

/** The deletion rule of a complete inventory: every active container not in it is scheduled for deletion. */
export function markUnreported(agent: AgentRecord, reported: ReadonlySet<string>): void {
  for (const [id, rec] of agent.containers) {
    if (rec.state === 'active' && !reported.has(id)) rec.state = 'pending_deletion';
  }
}

/** The master reads `payload.tunnel` if present, else the payload itself; `state` is an alias of `status`. */
export function applyTunnelStatus(agent: AgentRecord, body: Record<string, unknown>): void {
  const src = isRecord(body.tunnel) ? body.tunnel : body;
  const status = src.status ?? src.state;
  agent.tunnelStatus = {
    status: typeof status === 'string' ? status : 'unknown',
    name: typeof src.name === 'string' ? src.name : null,
    version: typeof src.version === 'string' ? src.version : null,
  };
}
