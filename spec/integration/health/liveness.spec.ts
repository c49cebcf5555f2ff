import { expect } from 'chai';
import { startAgentProcess } from '../../helpers/agent-process.js';
import { removeSpecContainers, waitForTunnelRunning } from '../../helpers/docker-fixtures.js';
import { testDocker } from '../../helpers/docker.js';
import { useSpecSession } from '../../helpers/spec-session.js';

/** /health's contact window for this agent (HEALTH_MASTER_CONTACT_SECONDS; 120 s by default). */
const CONTACT_S = 8;
/** The scenario's length: past the window after which /health stops saying healthy without the master. */
const OUTAGE_MS = 12_000;

async function healthStatus(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
  await res.text();
  return res.status;
}

describe('liveness: a master outage never makes the agent look dead', function () {
  this.timeout(OUTAGE_MS + 60_000);
  const harness = useSpecSession(removeSpecContainers);

  it(`the master down for ${OUTAGE_MS / 1000} s: /health says so, the image's check still passes, the tunnel runs on`, async () => {
    const master = await harness.master();
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const proc = await harness.process({
      env: {
        HEALTH_CHECK_PORT: port,
        HEALTH_BIND_ADDRESS: '127.0.0.1',
        HEALTH_MASTER_CONTACT_SECONDS: String(CONTACT_S),
      },
    });
    const reg = await proc.waitFor((r) => r.event === 'registered');
    master.enroll(String(reg.agentId), 'liveness');
    await proc.waitFor((r) => r.event === 'tunnel_started');
    const tunnel = await waitForTunnelRunning(testDocker(), 15_000);
    expect(await healthStatus(Number(port)), 'healthy before the outage').to.equal(200);

    await master.stop();
    const outageEnds = Date.now() + OUTAGE_MS;
    // The outage is the scenario itself: its length is waited out, checking the agent along the way.
    const checks: { at: number; health: number; check: number | null }[] = [];
    while (Date.now() < outageEnds) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(4000, Math.max(0, outageEnds - Date.now()))));
      const check = startAgentProcess(['healthcheck'], { HEALTH_CHECK_PORT: port, HEALTH_BIND_ADDRESS: '127.0.0.1' });
      checks.push({
        at: OUTAGE_MS - (outageEnds - Date.now()),
        health: await healthStatus(Number(port)),
        check: (await check.exited).code,
      });
    }
    expect(
      checks.map((c) => c.check),
      'the image check at every point of the outage',
    ).to.deep.equal(checks.map(() => 0));
    expect(checks.at(-1)!.health, `/health after ${OUTAGE_MS / 1000} s without the master`).to.equal(503);
    const after = await testDocker().getContainer(tunnel.Id).inspect();
    expect([after.State.Running, after.State.StartedAt], 'the same tunnel run').to.deep.equal([
      true,
      tunnel.State.StartedAt,
    ]);
    expect(proc.child.exitCode, 'the agent still runs').to.equal(null);
  });
});
