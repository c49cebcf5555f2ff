/**
 * A Reporter (the real definition, driven in steps) whose Docker scans and whose master's answers to status reports
 * come when the spec says; everything else the master accepts at once.
 */
import { reporterDef } from '../../actors/reporter/reporter.js';
import type { ContainerInfo } from '../../domain/container.js';
import type { Lifecycle } from '../../domain/lifecycle.js';
import type { MasterResult } from '../../domain/master-result.js';
import { StatusBoard } from '../../domain/status-board.js';
import type { MasterClient } from '../../master/client.js';
import { identityChanged, type RegistrationMsg } from '../../messages/registration.js';
import { reporterEnqueue } from '../../messages/reporter.js';
import { Outbox } from '../../persistence/outbox.js';
import { callbackRef } from '../../supervisor/actor-ref.js';
import { ActorDriver, failing } from './actor-driver.js';
import { dockerStandIn } from './docker-stand-in.js';
import { LogSink } from './log-sink.js';
import { ManualClock } from './manual-clock.js';

export type Reply = MasterResult<{ code: string | null }>;
type Body = Readonly<Record<string, unknown>>;
export const ACCEPTED: Reply = { ok: true, status: 202, value: { code: 'accepted' } };
const IDENTITY = { agentId: 'agent-1', protocolVersion: 2 as const, sessionId: 's1' };
export const info = (id: string): ContainerInfo => ({ id, name: id, status: 'running', labels: {} });
export const event = (type: 'container_start' | 'container_stop', id: string) =>
  reporterEnqueue({ type, container: info(id), timestamp: '2026-12-07T09:00:00.000000+00:00' });

/** A Reporter whose Docker scan and whose master's answer to a status report come when the spec says. */
export async function slowScan(opts: { fromEvents?: boolean; rescanMs?: number; registerLater?: boolean } = {}) {
  const clock = new ManualClock();
  const sink = new LogSink();
  const bodies: Body[] = [];
  const scans: ((containers: ContainerInfo[]) => void)[] = [];
  const reports: ((r: Reply) => void)[] = [];
  /** What the tombstone store would answer; a spec moves it to begin a decommission. */
  const lifecycle: { lifecycle: Lifecycle } = { lifecycle: 'enrolled' };
  const client: MasterClient = {
    register: failing('reporter spec', 'register'),
    ackDecommission: failing('reporter spec', 'ackDecommission'),
    fetchCommands: failing('reporter spec', 'fetchCommands'),
    lastSuccessAt: null,
    postEvent: (_agentId, body) => {
      bodies.push(body);
      if (body.type !== 'status_report') return Promise.resolve(ACCEPTED);
      return new Promise<Reply>((resolve) => reports.push(resolve));
    },
  };
  const docker = dockerStandIn('reporter spec', {
    listManagedContainers: () => new Promise<ContainerInfo[]>((resolve) => scans.push(resolve)),
  });
  const def = reporterDef({
    client,
    docker,
    outbox: await Outbox.open(null, 100, sink.log, clock),
    registration: callbackRef<RegistrationMsg>('registration', () => undefined),
    board: new StatusBoard('https://master.example'),
    healthSummary: () => undefined,
    reportIntervalMs: 3_600_000,
    // Ticks are told by hand, the clock stands: a heartbeat with every one.
    heartbeatIntervalMs: 0,
    retryCapMs: 60_000,
    lifecycle,
    random: () => 0.5,
    inventoryFromEvents: opts.fromEvents ?? true,
    ...(opts.rescanMs !== undefined ? { inventoryRescanMs: opts.rescanMs } : {}),
  });
  const driver = new ActorDriver(def, { name: 'reporter', log: sink.log, clock });
  const step = (): Promise<void> => driver.turns();
  await driver.spawn().initialised;
  const register = async (): Promise<void> => {
    driver.tell(identityChanged(IDENTITY));
    await step();
  };
  if (opts.registerLater !== true) await register();
  const sent = (): string[] =>
    bodies.map((b) =>
      b.type === 'status_report'
        ? `report [${(b.containers as ContainerInfo[]).map((c) => c.id).join(' ')}]`
        : `${String(b.type)} ${(b.container as ContainerInfo | undefined)?.id ?? ''}`.trim(),
    );
  return { driver, scans, reports, step, sent, bodies, clock, sink, register, lifecycle };
}
