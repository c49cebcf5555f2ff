import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { reviewRun } from '../../../cli/review/analyze.js';
import { parseLog } from '../../../cli/review/parse.js';
import { TestMaster } from '../../master/index.js';
import { startAgentProcess, type AgentProcess } from '../../helpers/agent-process.js';
import { CLOUDFLARED_IMAGE, testDocker } from '../../helpers/docker.js';
import { TEST_NETWORK } from '../../helpers/agent-harness.js';
import { removeSpecContainers, startLabelled, stopContainer } from '../../helpers/docker-fixtures.js';

type Body = Record<string, unknown>;
const body = (r: { body: unknown }): Body => (r.body ?? {}) as Body;
const REPORT_S = 1;
const REPORTER_MAX_BACKOFF_MS = 2000;

function baseEnv(master: TestMaster, key: string, dataDir: string): Record<string, string> {
  return {
    DOCKFLARE_MASTER_URL: master.url,
    DOCKFLARE_API_KEY: key,
    AGENT_DATA_DIR: dataDir,
    DOCKER_HOST: process.env.DOCKER_HOST ?? '',
    CLOUDFLARED_IMAGE,
    CLOUDFLARED_NETWORK_NAME: TEST_NETWORK,
    HEALTH_CHECK_PORT: '0',
    REPORT_INTERVAL_SECONDS: String(REPORT_S),
    HEARTBEAT_INTERVAL_SECONDS: String(REPORT_S),
    COMMAND_POLL_INTERVAL_SECONDS: '1',
    TUNNEL_CHECK_INTERVAL_SECONDS: '2',
    REGISTER_RETRY_SECONDS: '2',
    MASTER_REQUEST_TIMEOUT_SECONDS: '2',
    AGENT_BACKOFF_REPORTER_MAX_MS: String(REPORTER_MAX_BACKOFF_MS),
    AGENT_BACKOFF_REPORTER_MIN_MS: '100',
    AGENT_BACKOFF_EVENT_WATCHER_MIN_MS: '100',
    AGENT_BACKOFF_EVENT_WATCHER_MAX_MS: '1000',
    AGENT_BACKOFF_COMMAND_POLLER_MIN_MS: '100',
    AGENT_BACKOFF_COMMAND_POLLER_MAX_MS: '1000',
    AGENT_BACKOFF_TUNNEL_KEEPER_MIN_MS: '100',
    AGENT_BACKOFF_TUNNEL_KEEPER_MAX_MS: '1000',
    AGENT_BACKOFF_REGISTRATION_MIN_MS: '100',
    AGENT_BACKOFF_REGISTRATION_MAX_MS: '1000',
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'info',
  };
}

describe('chaos: killing actors under a workload', function () {
  this.timeout(120_000);
  let master: TestMaster | undefined;
  let proc: AgentProcess | undefined;
  let dataDir = '';
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'dfa-chaos-'));
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && proc) {
      const out = path.join(os.tmpdir(), `dfa-chaos-failed-${Date.now()}.log`);
      await writeFile(out, proc.lines.map((l) => JSON.stringify(l)).join('\n'));
      console.log(`agent log of the failed run: ${out}`);
    }
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await master?.stop();
    await removeSpecContainers();
    await rm(dataDir, { recursive: true, force: true });
    proc = undefined;
    master = undefined;
  });

  it('polite chaos: state converges, the tunnel is never recreated, heartbeats keep coming, the process survives, health equals review', async () => {
    master = await TestMaster.start({ mode: 'v2' });
    proc = startAgentProcess([], {
      ...baseEnv(master, master.generateKey(), dataDir),
      CHAOS_ENABLED: 'true',
      CHAOS_MEAN_INTERVAL_SECONDS: '0.7',
      CHAOS_DEVIATION: '0.5',
      CHAOS_SEED: '42',
      CHAOS_POLITE: 'true',
    });
    const reg = await proc.waitFor((r) => r.event === 'registered', 15_000);
    const id = String(reg.agentId);
    master.enroll(id, 'chaos-tunnel');
    // Confirmed after its start settle time; a keeper killed in between confirms it as adopted instead.
    await proc.waitFor((r) => r.event === 'tunnel_started' || r.event === 'tunnel_adopted', 20_000);
    const tunnelBefore = await testDocker().getContainer('dockflare-agent-tunnel').inspect();

    // Workload: containers come and go while chaos kills actors and the master flaps twice.
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      ids.push(await startLabelled(`chaos-${i}`));
      if (i === 3)
        master.addFault({ endpoint: 'events', fault: { kind: 'status', status: 503, retryAfterSeconds: 1 }, times: 3 });
      if (i % 2 === 1) await stopContainer(ids[i - 1]!);
      await proc.waitFor(
        (r) => r.event === 'chaos_kill' && proc!.lines.filter((l) => l.event === 'chaos_kill').length > i,
        10_000,
      );
    }
    master.addFault({ endpoint: 'commands', fault: { kind: 'drop' }, times: 2 });
    const stoppedIds = ids.filter((_, i) => i % 2 === 0 && i < 7);
    const running = ids.filter((c) => !stoppedIds.includes(c));

    // 1. Every container's final state reaches the master, and so does its last event: a full status report after
    // a gap can bring the state before the queued stop event is delivered (events wait out the master's 503s).
    const lastEvent = (c: string): string | undefined =>
      master!
        .acceptedEvents(id)
        .filter(
          (e) =>
            (e.type === 'container_start' || e.type === 'container_stop') &&
            (e.body.container as { id?: string } | undefined)?.id === c,
        )
        .at(-1)?.type;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const rec = master.agent(id)!;
      const ok =
        running.every((c) => rec.containers.get(c)?.state === 'active') &&
        stoppedIds.every((c) => rec.containers.get(c)?.state === 'pending_deletion') &&
        stoppedIds.every((c) => [undefined, 'container_stop'].includes(lastEvent(c)));
      if (ok) break;
      if (Date.now() > deadline) {
        const story = ids.map(
          (c, i) =>
            `#${i} ${c.slice(0, 8)} ${stoppedIds.includes(c) ? 'stopped' : 'running'}: master ${rec.containers.get(c)?.state ?? 'never heard'}; accepted ${
              master!
                .acceptedEvents(id)
                .filter((e) => (e.body.container as { id?: string } | undefined)?.id === c)
                .map((e) => `${e.type}@${e.at}`)
                .join(',') || 'none'
            }; in reports ${
              master!
                .acceptedEvents(id)
                .filter(
                  (e) =>
                    e.type === 'status_report' &&
                    (e.body.containers as { id?: string }[] | undefined)?.some((x) => x.id === c),
                ).length
            }`,
        );
        throw new Error(`containers did not converge:\n${story.join('\n')}`);
      }
      await master.waitFor((r) => r.endpoint === 'events' && r.at > Date.now() - 10, 5000).catch(() => undefined);
    }
    // Exactly once in effect: never twice within one session. (A Registration restart starts a new session, and an
    // event whose reply was lost with the old Reporter is then sent again: harmless, the master upserts.)
    for (const c of ids) {
      const seen = master.acceptedEvents(id).filter((e) => (e.body.container as { id?: string } | undefined)?.id === c);
      for (const type of ['container_start', 'container_stop']) {
        const sessions = seen.filter((e) => e.type === type).map((e) => String(e.body.agent_session_id));
        const detail = seen
          .filter((e) => e.type === type)
          .map((e) => `seq ${String(e.body.event_sequence)} at ${e.at} ts ${String(e.body.timestamp)}`)
          .join('; ');
        expect(new Set(sessions).size, `${c.slice(0, 12)} ${type} twice in one session: ${detail}`).to.equal(
          sessions.length,
        );
      }
      if (!stoppedIds.includes(c))
        expect(
          seen.filter((e) => e.type === 'container_stop'),
          `${c.slice(0, 12)} never stopped`,
        ).to.be.empty;
      const last = seen.filter((e) => e.type === 'container_start' || e.type === 'container_stop').at(-1);
      const story = seen
        .map(
          (e) =>
            `${e.type} seq ${String(e.body.event_sequence)} session ${String(e.body.agent_session_id).slice(0, 8)} ts ${String(e.body.timestamp)} at ${e.at}`,
        )
        .join('; ');
      if (last)
        expect(last.type, `${c.slice(0, 12)} last event (${story})`).to.equal(
          stoppedIds.includes(c) ? 'container_stop' : 'container_start',
        );
    }

    // 2. The cloudflared container was never recreated because a sibling (or the keeper itself) crashed.
    const tunnelAfter = await testDocker().getContainer('dockflare-agent-tunnel').inspect();
    expect(tunnelAfter.Id).to.equal(tunnelBefore.Id);
    expect(tunnelAfter.State.StartedAt).to.equal(tunnelBefore.State.StartedAt);
    expect(proc.lines.filter((l) => l.event === 'tunnel_started').length, 'containers started').to.be.at.most(1);
    expect(
      proc.lines.filter((l) => l.event === 'tunnel_container_removing'),
      'containers removed',
    ).to.be.empty;

    // 3. No heartbeat gap longer than the report interval plus the reporter's maximum backoff (plus a request timeout).
    const beats = master.requests
      .filter((r) => r.endpoint === 'events' && body(r).type === 'heartbeat')
      .map((r) => r.at);
    const gaps = beats.slice(1).map((t, i) => t - beats[i]!);
    expect(Math.max(...gaps)).to.be.below(REPORT_S * 1000 * 1.1 + REPORTER_MAX_BACKOFF_MS + 2000 + 500);

    const kills = proc.lines.filter((l) => l.event === 'chaos_kill').length;
    expect(kills).to.be.at.least(8);
    expect(proc.lines.filter((l) => l.event === 'intensity_exceeded')).to.be.empty;

    // 4. Polite chaos never ends the process; SIGTERM does, cleanly.
    expect(proc.child.exitCode).to.equal(null);
    const lastBeat = [...master.requests].reverse().find((r) => body(r).type === 'heartbeat' && r.status === 202)!;
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).to.equal(0);

    // 5. Restart counts in the last heartbeat equal what review derives from the same run's log up to it.
    const logText = proc.lines.map((l) => JSON.stringify(l)).join('\n');
    if (process.env.CHAOS_LOG_OUT) await writeFile(process.env.CHAOS_LOG_OUT, `${logText}\n`);
    const beatAt = Date.parse(String(body(lastBeat).timestamp).replace('+00:00', 'Z'));
    const upTo = parseLog(
      proc.lines
        .filter((l) => Date.parse(String(l.time)) <= beatAt)
        .map((l) => JSON.stringify(l))
        .join('\n'),
    );
    const reviewed = reviewRun(upTo.runs.at(-1)!);
    const health = (body(lastBeat).health as { actors: Record<string, [string, number, number, number, number]> })
      .actors;
    for (const [name, [, , restarts]] of Object.entries(health)) {
      expect(reviewed.actors[name]?.restarts ?? 0, `${name} restarts`).to.equal(restarts);
    }
    const whole = reviewRun(parseLog(logText).runs.at(-1)!);
    const final = proc.lines.filter((l) => l.event === 'health').at(-1) as {
      actors: Record<string, { restartsTotal: number }>;
    };
    for (const [name, a] of Object.entries(final.actors))
      expect(whole.actors[name]?.restarts ?? 0, `${name} final`).to.equal(a.restartsTotal);
    expect(Object.values(whole.actors).reduce((n, a) => n + a.chaosKills, 0)).to.equal(kills);
  });

  it('impolite chaos above the threshold: intensity_exceeded is logged and the process exits 70', async () => {
    master = await TestMaster.start({ mode: 'v2' });
    proc = startAgentProcess([], {
      ...baseEnv(master, master.generateKey(), dataDir),
      CHAOS_ENABLED: 'true',
      CHAOS_MEAN_INTERVAL_SECONDS: '0.05',
      CHAOS_DEVIATION: '0.2',
      CHAOS_SEED: '7',
      CHAOS_POLITE: 'false',
      CHAOS_TARGETS: 'event-watcher',
      AGENT_SUPERVISION_WORKERS_INTENSITY: '2',
      AGENT_SUPERVISION_ROOT_INTENSITY: '1',
    });
    const { code } = await proc.exited;
    expect(code).to.equal(70);
    const exceeded = proc.lines.filter((l) => l.event === 'intensity_exceeded');
    expect(exceeded.map((l) => l.supervisor)).to.include.members(['workers', 'root']);
    expect(proc.lines.at(-1)).to.include({ event: 'agent_fatal', exitCode: 70 });
  });
});
