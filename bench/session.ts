/**
 * One agent process against its own fresh test master, torn down whatever happens; plus the few ways the
 * scenarios read the master's request log. Every figure is taken from `at` (Date.now() at receipt), never from
 * when our polling loop happened to notice, so the poll interval here does not enter any measurement.
 */
import type Docker from 'dockerode';
import { isAccepted } from '../spec/helpers/docker-events.js';
import { MASTER_IDLE_CONNECTION_MS, TestMaster, type RecordedRequest } from '../spec/master/index.js';
import { startAgent, terminate, type AgentRun } from './agent.js';
import type { Deadline } from './util.js';
import { waitUntil } from './util.js';

export interface BenchContext {
  docker: Docker;
  deadline: Deadline;
  logDir: string;
}

export interface Session {
  master: TestMaster;
  agent: AgentRun;
}

/**
 * BENCH_MASTER_KEEPALIVE_MS, for diagnosis only: how long the test master keeps an idle connection. By default it
 * behaves like the real master (MASTER_IDLE_CONNECTION_MS, waitress's 360 s); 5000 shows what a server that closes
 * idle connections after Node's default 5 s costs (a new connection for nearly every request of an idle agent).
 */
export const MASTER_KEEPALIVE_OVERRIDDEN = process.env.BENCH_MASTER_KEEPALIVE_MS !== undefined;
export const MASTER_KEEPALIVE_MS = MASTER_KEEPALIVE_OVERRIDDEN
  ? Number(process.env.BENCH_MASTER_KEEPALIVE_MS)
  : MASTER_IDLE_CONNECTION_MS;

export async function withAgent<T>(
  ctx: BenchContext,
  label: string,
  env: Record<string, string>,
  fn: (s: Session) => Promise<T>,
  masterLimits: { maxRequestBytes?: number; maxContainers?: number } = {},
): Promise<T> {
  const master = await TestMaster.start({ mode: 'v2', keepAliveTimeoutMs: MASTER_KEEPALIVE_MS, ...masterLimits });
  let agent: AgentRun | undefined;
  try {
    agent = await startAgent({ masterUrl: master.url, key: master.generateKey(), env, logDir: ctx.logDir, label });
    return await fn({ master, agent });
  } finally {
    if (agent) {
      // A graceful stop first, so the agent removes its tunnel container itself; SIGKILL only as the fallback.
      if (agent.child.exitCode === null && agent.child.signalCode === null) await terminate(agent, 10_000);
      await agent.dispose();
    }
    await master.stop();
  }
}

/** The first recorded request matching `pred` within `timeoutMs`, else null. */
export function masterWait(
  master: TestMaster,
  pred: (r: RecordedRequest) => boolean,
  timeoutMs: number,
): Promise<RecordedRequest | null> {
  return waitUntil(() => master.requests.find(pred), timeoutMs, 5);
}

export const bodyType = (r: RecordedRequest): unknown => (r.body as { type?: unknown } | undefined)?.type;

export const containerIdOf = (r: RecordedRequest): string | undefined =>
  (r.body as { container?: { id?: unknown } } | undefined)?.container?.id as string | undefined;

/** The agent id the master gave on the first successful registration, or null within `timeoutMs`. */
export async function registeredId(s: Session, timeoutMs: number): Promise<{ agentId: string; at: number } | null> {
  const r = await masterWait(
    s.master,
    (q) => q.endpoint === 'register' && q.status >= 200 && q.status < 300,
    timeoutMs,
  );
  const id = (r?.response as { agent_id?: unknown } | undefined)?.agent_id;
  return r && typeof id === 'string' ? { agentId: id, at: r.at } : null;
}

/** Accepted container events of `type` (a `duplicate_sequence` retry is not an acceptance), per container id. */
export function acceptedByContainer(
  master: TestMaster,
  type: 'container_start' | 'container_stop',
): Map<string, RecordedRequest[]> {
  const out = new Map<string, RecordedRequest[]>();
  for (const r of master.requests) {
    if (!isAccepted(r) || bodyType(r) !== type) continue;
    const id = containerIdOf(r);
    if (id === undefined) continue;
    const list = out.get(id) ?? [];
    list.push(r);
    out.set(id, list);
  }
  return out;
}

/** The agent has subscribed to Docker events (so a container started now is seen live, not by a later scan). */
export async function subscribed(s: Session, timeoutMs: number): Promise<boolean> {
  return (await s.agent.waitForLine((l) => l.event === 'event_stream_subscribed', timeoutMs)) !== null;
}
