/**
 * What the test master accepted about containers and the tunnel, as the Docker-side specs read it: accepted
 * events only (a retry answered `duplicate_sequence` is not counted twice), bodies exactly as the agent sent them.
 */
import type { RecordedRequest, TestMaster } from '../master/index.js';

export type Body = Record<string, unknown>;

export interface SentContainer {
  id: string;
  name: string;
  status?: string;
  labels: Record<string, string>;
}

export const bodyOf = (r: { body: unknown }): Body => (r.body ?? {}) as Body;

/** The request was processed by the master: 200/202 with code accepted (v2). */
export function isAccepted(r: RecordedRequest): boolean {
  const code = (r.response as { code?: unknown } | undefined)?.code;
  return r.endpoint === 'events' && (r.status === 200 || r.status === 202) && code === 'accepted';
}

export function containerOf(b: Body): SentContainer | undefined {
  const c = b.container;
  return typeof c === 'object' && c !== null ? (c as SentContainer) : undefined;
}

/** Accepted container_start / container_stop events, in the order the master processed them. */
export function containerEvents(
  master: TestMaster,
  agentId?: string,
): { type: 'container_start' | 'container_stop'; container: SentContainer; at: number }[] {
  return master
    .acceptedEvents(agentId)
    .filter((e) => e.type === 'container_start' || e.type === 'container_stop')
    .map((e) => ({ type: e.type as 'container_start' | 'container_stop', container: containerOf(e.body)!, at: e.at }));
}

/** How many accepted events of `type` name container `id`. */
export function countFor(master: TestMaster, type: 'container_start' | 'container_stop', id: string): number {
  return containerEvents(master).filter((e) => e.type === type && e.container.id === id).length;
}

/**
 * Waits until the master has accepted `count` events of `type` (optionally: about container `id`, received after
 * `after`).
 */
export function waitForAccepted(
  master: TestMaster,
  type: string,
  opts: {
    id?: string;
    count?: number;
    timeoutMs?: number;
    what?: string;
    where?: (b: Body) => boolean;
    after?: number;
  } = {},
): Promise<RecordedRequest[]> {
  const { id, count = 1, timeoutMs = 10_000, where } = opts;
  const pred = (r: RecordedRequest): boolean => {
    if (!isAccepted(r) || (opts.after !== undefined && r.at <= opts.after)) return false;
    const b = bodyOf(r);
    if (b.type !== type) return false;
    if (id !== undefined && containerOf(b)?.id !== id) return false;
    return where === undefined || where(b);
  };
  const what = opts.what ?? `${count} accepted ${type}${id !== undefined ? ` for ${id.slice(0, 12)}` : ''}`;
  if (count === 1) return master.waitFor(pred, timeoutMs, what).then((r) => [r]);
  return master.waitForCount(pred, count, timeoutMs).catch((err: unknown) => {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  });
}

/** Per container id, the accepted start/stop types in order: the shape "start, stop, start" a spec can judge. */
export function historyById(master: TestMaster): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of containerEvents(master)) {
    const list = out.get(e.container.id) ?? [];
    list.push(e.type === 'container_start' ? 'start' : 'stop');
    out.set(e.container.id, list);
  }
  return out;
}

/** The accepted start/stop history of one container (or Swarm service) id; empty when the master heard nothing. */
export function historyOf(master: TestMaster, id: string): string[] {
  return historyById(master).get(id) ?? [];
}
