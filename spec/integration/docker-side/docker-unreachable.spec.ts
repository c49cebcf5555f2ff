import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { LogRecord } from '../../helpers/log-sink.js';
import { useSpecSession } from '../../helpers/spec-session.js';

const WARN = 40;

/**
 * A host whose Docker daemon is away for a long time: the agent keeps retrying, but its log (what the master's
 * operators read to judge the host) says so once per component and then once more when Docker is back, instead
 * of repeating the same errors every backoff round. The daemon "appears" by a symlink to the test engine's socket.
 */
describe('docker side: Docker unreachable for a long time, then back', function () {
  this.timeout(60_000);
  const harness = useSpecSession();

  it('logs the outage loudly once per component, repeats at debug, and says when each part recovers', async function () {
    const realHost = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
    if (!realHost.startsWith('unix://')) {
      this.test!.title += ' (pending: needs a unix:// DOCKER_HOST to link to)';
      this.skip();
    }
    const socket = path.join(await harness.tempDir('dfa-unreachable-'), 'docker.sock');
    const master = await harness.master();
    const agent = await harness.agent({
      env: {
        DOCKER_HOST: `unix://${socket}`,
        // Rounds every ≤200 ms instead of ≤30 s; the intensity window shrinks with them, so they stay below it.
        AGENT_BACKOFF_EVENT_WATCHER_MIN_MS: '50',
        AGENT_BACKOFF_EVENT_WATCHER_MAX_MS: '200',
        AGENT_BACKOFF_RESET_AFTER_MS: '2000',
        AGENT_SUPERVISION_WORKERS_PERIOD_MS: '1000',
      },
    });
    const { sink } = agent;
    // Enrolled, so the tunnel keeper also has something to do against the missing engine.
    master.enroll(await agent.registered(), 'dfa-unreachable');
    const tunnelFailures = (): LogRecord[] => sink.events('tunnel_reconcile_failed');
    const watcherCrashes = (): LogRecord[] =>
      sink.records.filter((r) => r.event === 'actor_crashed' && r.actor === 'event-watcher');
    const loud = (): string[] =>
      sink.records.filter((r) => r.level >= WARN).map((r) => `${r.event ?? r.msg}:${r.level}`);

    await sink.waitFor(() => watcherCrashes().length >= 3, 10_000, 'three event-watcher crashes');
    await sink.waitFor(() => sink.events('inventory_failed').length >= 2, 10_000, 'two failed container scans');
    await sink.waitFor(() => tunnelFailures().length >= 1, 10_000, 'a failed tunnel reconcile');
    const loudEarly = loud();
    // Twice as many rounds later, not one more warning or error.
    const rounds = watcherCrashes().length * 2;
    await sink.waitFor(() => watcherCrashes().length >= rounds, 20_000, `${rounds} event-watcher crashes`);
    await sink.waitFor(() => sink.events('inventory_failed').length >= 4, 10_000, 'four failed container scans');
    await sink.waitFor(() => tunnelFailures().length >= 3, 20_000, 'three failed tunnel reconciles');
    expect(loud(), 'warnings and errors while the outage lasts').to.deep.equal(loudEarly);

    const crashes = watcherCrashes();
    // The first crash is loud (error), the first repeat says repeats go quiet (warn), then debug.
    expect(crashes.slice(0, 3).map((r) => r.level)).to.deep.equal([50, WARN, 20]);
    expect(
      crashes.slice(3).every((r) => r.level === 20),
      'later repeats at debug',
    ).to.equal(true);
    expect(
      sink
        .events('inventory_failed')
        .map((r) => r.level)
        .slice(0, 3),
    ).to.deep.equal([WARN, 20, 20]);
    expect(
      tunnelFailures()
        .map((r) => r.level)
        .slice(0, 3),
    ).to.deep.equal([50, 20, 20]);

    await symlink(realHost.slice('unix://'.length), socket);
    await sink.waitFor(
      (r) => r.event === 'event_stream_subscribed',
      10_000,
      'event stream subscribed once Docker is back',
    );
    await sink.waitFor((r) => r.event === 'inventory_recovered', 10_000, 'inventory_recovered');
    const recovered = await sink.waitFor(
      (r) => r.event === 'actor_recovered' && r.child === 'event-watcher',
      10_000,
      'actor_recovered',
    );
    expect(recovered.level).to.equal(30);
    expect(recovered.crashes, 'crashes counted in the loop').to.equal(watcherCrashes().length);
    expect(String(recovered.lastCrash)).to.match(/ENOENT/);
    const tunnelBack = await sink.waitFor((r) => r.event === 'tunnel_recovered', 30_000, 'tunnel_recovered');
    expect(tunnelBack.level).to.equal(30);
    expect(tunnelBack.failures).to.equal(tunnelFailures().length);
    expect(agent.fatal).to.deep.equal([]);
  });
});
