import { expect } from 'chai';
import type { AgentProcess } from '../../helpers/agent-process.js';
import { testDocker } from '../../helpers/docker.js';
import {
  inspectOrNull,
  removeTunnelContainer,
  TUNNEL_CONTAINER,
  uniqueName,
  waitForTunnelRunning,
} from '../../helpers/docker-fixtures.js';
import { exitWithin, fatalLines, waitForLine } from '../../helpers/docker-process.js';
import { useSpecSession } from '../../helpers/spec-session.js';

describe('docker side: SIGTERM to the agent process', function () {
  this.timeout(60_000);
  const docker = testDocker();
  const harness = useSpecSession(() => removeTunnelContainer(docker));

  /** An agent process, registered and enrolled, with its tunnel container running. */
  async function startEnrolledProcess(
    env: Record<string, string> = {},
  ): Promise<{ proc: AgentProcess; containerId: string }> {
    const master = await harness.master();
    const proc = await harness.process({ env });
    const registered = await waitForLine(proc, (r) => r.event === 'registered', 20_000, 'registered');
    master.enroll(String(registered.agentId), uniqueName('dfa-tunnel'));
    await waitForLine(proc, (r) => r.event === 'tunnel_started', 20_000, 'tunnel_started');
    const info = await waitForTunnelRunning(docker, 10_000);
    return { proc, containerId: info.Id };
  }

  beforeEach(async () => {
    await removeTunnelContainer(docker);
  });

  it('exits 0 within 8 s and removes the tunnel container', async () => {
    const { proc } = await startEnrolledProcess();
    const sent = Date.now();
    proc.child.kill('SIGTERM');
    const { code, at } = await exitWithin(proc, 12_000, 'SIGTERM');
    expect(code, `exit code (stderr: ${proc.stderr().slice(-300)})`).to.equal(0);
    expect(at - sent, 'shutdown duration (ms)').to.be.below(8000);
    expect(await inspectOrNull(docker, TUNNEL_CONTAINER), 'tunnel container after shutdown').to.equal(null);
    expect(
      proc.lines.find((r) => r.event === 'tunnel_removed_on_shutdown'),
      'tunnel_removed_on_shutdown logged',
    ).to.exist;
    expect(proc.lines.find((r) => r.event === 'shutdown_complete')).to.include({ outcome: 'ok', exitCode: 0 });
    expect(fatalLines(proc.lines)).to.deep.equal([]);
  });

  it('with TUNNEL_REMOVE_ON_SHUTDOWN=false exits 0 within 8 s and leaves the tunnel container running', async () => {
    const { proc, containerId } = await startEnrolledProcess({ TUNNEL_REMOVE_ON_SHUTDOWN: 'false' });
    const sent = Date.now();
    proc.child.kill('SIGTERM');
    const { code, at } = await exitWithin(proc, 12_000, 'SIGTERM');
    expect(code, `exit code (stderr: ${proc.stderr().slice(-300)})`).to.equal(0);
    expect(at - sent, 'shutdown duration (ms)').to.be.below(8000);
    const info = await inspectOrNull(docker, TUNNEL_CONTAINER);
    expect(info?.Id, 'the same tunnel container is still there').to.equal(containerId);
    expect(info?.State.Running, 'and still running').to.equal(true);
    expect(
      proc.lines.find((r) => r.event === 'tunnel_left_running'),
      'tunnel_left_running logged',
    ).to.exist;
  });

  it('removes the tunnel container even when SIGTERM finds the tunnel keeper backing off after a crash', async () => {
    const master = await harness.master();
    const key = master.generateKey();
    const dataDir = await harness.tempDir('dfa-shutdown-');
    // A first run on the volume leaves its tunnel running, as after an upgrade with TUNNEL_REMOVE_ON_SHUTDOWN=false.
    const first = await harness.process({ key, dataDir, env: { TUNNEL_REMOVE_ON_SHUTDOWN: 'false' } });
    const registered = await waitForLine(first, (r) => r.event === 'registered', 20_000, 'registered');
    master.enroll(String(registered.agentId), uniqueName('dfa-tunnel'));
    await waitForLine(first, (r) => r.event === 'tunnel_started', 20_000, 'tunnel_started');
    first.child.kill('SIGTERM');
    expect((await exitWithin(first, 12_000, 'first SIGTERM')).code).to.equal(0);
    const { Id: containerId } = await waitForTunnelRunning(docker, 5000);

    // The second run's keeper is killed at once, and its restart is a minute away when SIGTERM comes.
    const second = await harness.process({
      key,
      dataDir,
      env: {
        CHAOS_ENABLED: 'true',
        CHAOS_TARGETS: 'tunnel-keeper',
        CHAOS_MEAN_INTERVAL_SECONDS: '0.2',
        CHAOS_DEVIATION: '0',
        AGENT_BACKOFF_TUNNEL_KEEPER_MIN_MS: '60000',
        AGENT_BACKOFF_TUNNEL_KEEPER_MAX_MS: '60000',
      },
    });
    await waitForLine(
      second,
      (r) => r.event === 'restart_scheduled' && r.child === 'tunnel-keeper',
      20_000,
      'the keeper killed and backing off',
    );
    expect((await inspectOrNull(docker, TUNNEL_CONTAINER))?.Id, 'the tunnel still runs meanwhile').to.equal(
      containerId,
    );
    const sent = Date.now();
    second.child.kill('SIGTERM');
    const { code, at } = await exitWithin(second, 12_000, 'second SIGTERM');
    expect(code, `exit code (stderr: ${second.stderr().slice(-300)})`).to.equal(0);
    expect(at - sent, 'shutdown duration (ms)').to.be.below(8000);
    expect(await inspectOrNull(docker, TUNNEL_CONTAINER), 'tunnel container after shutdown').to.equal(null);
    expect(
      second.lines.find((r) => r.event === 'tunnel_removed_on_shutdown'),
      'tunnel_removed_on_shutdown logged',
    ).to.include({ containerId });
    expect(fatalLines(second.lines)).to.deep.equal([]);
  });
});
