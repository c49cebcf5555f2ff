import { expect } from 'chai';
import { dockerStandIn } from '../../../helpers/docker-stand-in.js';
import { reporterDef } from '../../../../actors/reporter/reporter.js';
import type { ContainerInfo } from '../../../../domain/container.js';
import type { MasterResult } from '../../../../domain/master-result.js';
import { StatusBoard } from '../../../../domain/status-board.js';
import type { MasterClient } from '../../../../master/client.js';
import { identityChanged, type RegistrationMsg } from '../../../../messages/registration.js';
import { reporterEnqueue, reporterReportNow } from '../../../../messages/reporter.js';
import { Outbox } from '../../../../persistence/outbox.js';
import { callbackRef } from '../../../../supervisor/actor-ref.js';
import { ActorDriver, failing } from '../../../helpers/actor-driver.js';
import { LogSink } from '../../../helpers/log-sink.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

type Reply = MasterResult<{ code: string | null }>;
type Body = Readonly<Record<string, unknown>>;
const ACCEPTED: Reply = { ok: true, status: 202, value: { code: 'accepted' } };
const IDENTITY = { agentId: 'agent-1', protocolVersion: 2 as const, sessionId: 's1' };
const info = (id: string): ContainerInfo => ({ id, name: id, status: 'running', labels: {} });
const event = (type: 'container_start' | 'container_stop', id: string) =>
  reporterEnqueue({ type, container: info(id), timestamp: '2026-12-07T09:00:00.000000+00:00' });

/** A Reporter whose Docker scan and whose master's answer to a status report come when the spec says. */
async function slowScan() {
  const clock = new ManualClock();
  const sink = new LogSink();
  const bodies: Body[] = [];
  const scans: ((containers: ContainerInfo[]) => void)[] = [];
  const reports: ((r: Reply) => void)[] = [];
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
    retryCapMs: 60_000,
    lifecycle: { lifecycle: 'enrolled' },
    random: () => 0.5,
  });
  const driver = new ActorDriver(def, { name: 'reporter', log: sink.log, clock });
  const step = (): Promise<void> => driver.turns();
  await driver.spawn().initialised;
  driver.tell(identityChanged(IDENTITY));
  await step();
  const sent = (): string[] =>
    bodies.map((b) =>
      b.type === 'status_report'
        ? `report [${(b.containers as ContainerInfo[]).map((c) => c.id).join(' ')}]`
        : `${String(b.type)} ${(b.container as ContainerInfo | undefined)?.id ?? ''}`.trim(),
    );
  return { driver, scans, reports, step, sent };
}

describe('reporter: a status report never undoes a newer event', () => {
  it('lays the events told during a slow scan over it: a start is in the report, a stop is not', async () => {
    const run = await slowScan();
    run.driver.tell(reporterReportNow());
    await run.step();
    expect(run.scans, 'a scan is out').to.have.length(1);
    run.driver.tell(event('container_start', 'new'));
    run.driver.tell(event('container_stop', 'gone'));
    await run.step();
    run.scans[0]!([info('gone'), info('kept')]);
    await run.step();
    expect(run.sent().filter((s) => s.startsWith('report'))).to.deep.equal(['report [kept new]']);
  });

  it('sends no event while the report is out, so none reaches the master before it', async () => {
    const run = await slowScan();
    run.driver.tell(reporterReportNow());
    await run.step();
    run.scans[0]!([]);
    await run.step();
    run.driver.tell(event('container_start', 'late'));
    await run.step();
    expect(
      run.sent().filter((s) => s.startsWith('container')),
      'held while the report is out',
    ).to.deep.equal([]);
    run.reports[0]!(ACCEPTED);
    await run.step();
    const order = run.sent().filter((s) => !s.startsWith('heartbeat'));
    expect(order).to.deep.equal(['report []', 'container_start late']);
  });
});
