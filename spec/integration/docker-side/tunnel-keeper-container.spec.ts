import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { injectCrash } from '../../../supervisor/protocol.js';
import { tell } from '../../../supervisor/actor-ref.js';
import { type InProcessAgent } from '../../helpers/agent-harness.js';
import { CLOUDFLARED_IMAGE } from '../../helpers/docker.js';
import { waitForAccepted, type Body } from '../../helpers/docker-events.js';
import {
  inspectOrNull,
  pollUntil,
  TUNNEL_CONTAINER,
  uniqueName,
  waitForTunnelRunning,
} from '../../helpers/docker-fixtures.js';
import type { LogRecord } from '../../helpers/log-sink.js';
import type { TestMaster } from '../../master/index.js';
import { DEBUG, ERROR, useTunnelSession, type TunnelFile } from '../../helpers/tunnel-session.js';

describe('docker side: tunnel keeper, its container (test master, real dockerd)', function () {
  // The refused-token case waits up to a minute for the crash loop's replacement, and 15 s for the next failure.
  this.timeout(90_000);
  let master: TestMaster | undefined;
  let agent: InProcessAgent | undefined;
  const { docker, harness, startEnrolled, enrolledInConfirm, keeperView, acceptedHeartbeat } = useTunnelSession({
    get: () => ({ agent }),
    set: (m, a) => {
      master = m;
      agent = a;
    },
  });

  it('docker kill of the tunnel container: running again within 5 s; docker rm -f: recreated within 5 s', async () => {
    const { info } = await startEnrolled();

    const killedAt = Date.now();
    await docker.getContainer(info.Id).kill();
    const back = await pollUntil(
      async () => {
        const i = await inspectOrNull(docker, TUNNEL_CONTAINER);
        return i?.State.Running === true && (i.Id !== info.Id || i.State.StartedAt !== info.State.StartedAt) ? i : null;
      },
      15_000,
      'the tunnel container running again after docker kill',
      50,
    );
    const afterKillMs = Date.now() - killedAt;
    expect(afterKillMs, `running again after docker kill took ${afterKillMs} ms`).to.be.below(5000);

    const removedAt = Date.now();
    await docker.getContainer(back.Id).remove({ force: true });
    const recreated = await waitForTunnelRunning(docker, 15_000, back.Id);
    const afterRmMs = Date.now() - removedAt;
    expect(afterRmMs, `recreated after docker rm -f took ${afterRmMs} ms`).to.be.below(5000);
    expect(recreated.Config.Cmd).to.deep.equal(['tunnel', '--no-autoupdate', 'run']);
    expect(agent!.sink.events('actor_crashed'), 'no actor crashed').to.be.empty;
  });

  it('a token cloudflared refuses: the container keeps exiting, is never reported running, and tunnel_start_failed says why', async () => {
    master = await harness.master();
    agent = await harness.agent();
    const agentId = await agent.registered();
    const token = `invalid-${randomUUID()}`;
    master.queueCommand(agentId, {
      action: 'start_tunnel',
      tunnel_id: randomUUID(),
      tunnel_name: uniqueName('dfa-refused'),
      token,
    });
    const failure = await agent.sink.waitFor((r) => r.event === 'tunnel_start_failed', 15_000, 'tunnel_start_failed');
    expect(failure).to.include({ level: ERROR, failures: 1 });
    expect(failure.restarts, 'Docker restarted it').to.be.a('number').that.is.at.least(1);
    expect(failure.logTail, "cloudflared's own last words").to.include('ERR Provided Tunnel token is not valid.');
    // Left to Docker's restart policy for three checks, then replaced (Docker counts a restarting container as
    // running: it must not be adopted as one); through all of it nothing is reported as running. The checks back
    // off (1, 2, 4 s) and a check that finds the container in one of its short runs starts the count again, so
    // on a loaded machine this takes up to a minute (CI at a6da0ef waited more than 40 s once).
    const replaced = await agent.sink.waitFor(
      (r) => r.event === 'tunnel_container_removing' && r.status === 'restarting',
      60_000,
      'the crash-looping container replaced',
    );
    await agent.sink.waitFor(
      (r) => r.event === 'tunnel_start_failed' && Date.parse(String(r.time)) > Date.parse(String(replaced.time)),
      15_000,
      'its replacement failing too',
    );
    expect(
      agent.sink
        .events('tunnel_start_failed')
        .slice(1)
        .every((r) => r.level === DEBUG),
      'repeats at debug',
    ).to.equal(true);
    expect(
      master.requests.filter((r) => (r.body as Body | undefined)?.type === 'tunnel_status'),
      'tunnel_status sent',
    ).to.be.empty;
    expect(agent.sink.events('tunnel_started').concat(agent.sink.events('tunnel_adopted'))).to.be.empty;
    expect((await keeperView()).containerRunning).to.equal(false);
    expect(agent.sink.lines.join('\n'), 'the token in the log').not.to.include(token);
  });

  it('a tunnel container removed during its start confirm is replaced at once and then reported once', async () => {
    const { master, agent, container: first } = await enrolledInConfirm();
    const removedAt = Date.now();
    await docker.getContainer(first.Id).remove({ force: true });
    const second = await waitForTunnelRunning(docker, 5000, first.Id);
    expect(Date.now() - removedAt, 'replaced without a backoff').to.be.below(2000);
    await waitForAccepted(master, 'tunnel_status', {
      where: (b) => b.status === 'running',
      timeoutMs: 10_000,
      what: 'tunnel_status running',
    });
    const started = agent.sink.events('tunnel_started');
    expect(
      started.map((r) => r.containerId),
      'only the container that lasted is reported',
    ).to.deep.equal([second.Id]);
    expect(master.requests.filter((r) => (r.body as Body | undefined)?.type === 'tunnel_status')).to.have.length(1);
    expect(agent.sink.events('tunnel_start_failed'), 'removal from outside is not a start failure').to.be.empty;
  });

  it('a keeper killed during the start confirm of the container it created confirms it as started, counted once', async () => {
    const { master, agent, container: created } = await enrolledInConfirm();
    expect(agent.sink.events('tunnel_started'), 'killed before the confirm (precondition)').to.be.empty;
    tell(agent.agent.cells.workers, injectCrash('tunnel-keeper', 'test: killed during the start confirm'));
    await agent.sink.waitFor(
      (r) => r.event === 'actor_started' && r.child === 'tunnel-keeper' && r.gen === 2,
      5000,
      'the keeper restarted',
    );
    const started = await agent.sink.waitFor(
      (r) => r.event === 'tunnel_started',
      10_000,
      'tunnel_started after the keeper restart',
    );
    expect(started).to.include({ containerId: created.Id, cause: 'start_tunnel' });
    expect(agent.sink.events('tunnel_adopted'), 'its own container is not adopted').to.be.empty;
    expect(agent.agent.board.read().tunnel.containersStarted, 'containers started').to.equal(1);
    await waitForAccepted(master, 'tunnel_status', {
      where: (b) => b.status === 'running',
      timeoutMs: 10_000,
      what: 'tunnel_status running',
    });
    expect((await docker.getContainer(TUNNEL_CONTAINER).inspect()).Id, 'the same container').to.equal(created.Id);
  });

  it('cloudflared image missing and not pullable: tunnel_reconcile_failed with an error, retried with backoff, no crash, heartbeats go on', async () => {
    master = await harness.master();
    agent = await harness.agent({ env: { CLOUDFLARED_IMAGE: 'local/cloudflared:missing' } });
    const agentId = await agent.registered();
    master.enroll(agentId, uniqueName('dfa-tunnel'));
    const failures: LogRecord[] = await agent.sink.waitForCount(
      (r) => r.event === 'tunnel_reconcile_failed',
      2,
      30_000,
    );
    expect(failures[0]).to.include({ level: ERROR, failures: 1 });
    // The same failure again: at debug while it lasts (tunnel_recovered says when it ends).
    expect(failures[1]).to.include({ level: DEBUG, failures: 2 });
    for (const f of failures)
      expect(f.err, 'the failure carries the error').to.be.an('object').with.property('message').that.is.a('string');
    expect(failures[0]!.retryInMs).to.be.a('number').that.is.above(0);
    const secondAt = Date.parse(String(failures[1]!.time));
    await master.waitForCount(acceptedHeartbeat(Number.isNaN(secondAt) ? Date.now() : secondAt), 2, 10_000);
    expect(agent.sink.events('actor_crashed'), 'actor crashes').to.be.empty;
    expect(agent.fatal).to.be.empty;
    expect(await inspectOrNull(docker, TUNNEL_CONTAINER), 'no tunnel container without its image').to.equal(null);
  });

  it('master unreachable at start: the tunnel is brought back from tunnel_state.json without any master', async () => {
    const gone = await harness.master();
    const key = gone.generateKey();
    await gone.stop();
    const dataDir = await harness.tempDir('dfa-nomaster-');
    const cached: TunnelFile = {
      token: `cached-${randomUUID()}`,
      id: randomUUID(),
      name: 'cached-tunnel',
      desired_state: 'running',
    };
    await writeFile(path.join(dataDir, 'tunnel_state.json'), JSON.stringify(cached), { mode: 0o600 });

    agent = await harness.agent({ key, dataDir });
    const info = await waitForTunnelRunning(docker, 15_000);
    expect(info.Config.Env).to.include(`TUNNEL_TOKEN=${cached.token!}`);
    expect(info.Config.Image).to.equal(CLOUDFLARED_IMAGE);
    expect(agent.sink.events('tunnel_restore')).to.have.length(1);
    await agent.sink.waitFor((r) => r.event === 'tunnel_started', 5000, 'tunnel_started');
    expect(agent.sink.events('registered'), 'no master answered').to.be.empty;
    expect(gone.requests, 'the stopped master received nothing').to.be.empty;
  });
});
