import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { call } from '../../master/index.js';
import { exitWithin } from '../../helpers/docker-process.js';
import {
  inspectOrNull,
  removeSpecContainers,
  TUNNEL_CONTAINER,
  waitForTunnelRunning,
} from '../../helpers/docker-fixtures.js';
import { testDocker } from '../../helpers/docker.js';
import { useSpecSession } from '../../helpers/spec-session.js';
import { ADMIN } from '../../helpers/master-calls.js';

/** How long the restarted agent is watched for any request: several of its 1 s poll and report intervals. */
const WATCH_MS = 4000;

describe('decommission: the agent as a process, removed and then restarted on the same data directory', function () {
  this.timeout(90_000);
  const harness = useSpecSession(removeSpecContainers);

  it('removed through the admin route, it exits 0; started again it stays silent, the tunnel stopped and kept', async () => {
    const master = await harness.master();
    const dataDir = await harness.tempDir('dfa-decom-');
    const key = master.generateKey();
    const first = await harness.process({ dataDir, key });
    const agentId = String((await first.waitFor((r) => r.event === 'registered')).agentId);
    master.enroll(agentId, 'decommission-process');
    await first.waitFor((r) => r.event === 'tunnel_started', 20_000);
    await waitForTunnelRunning(testDocker(), 15_000);

    const removed = await call(master.url, 'POST', `/api/v2/agents/${agentId}/remove`, { key: ADMIN });
    expect(removed.status, 'remove starts a decommission').to.equal(202);
    const exit = await exitWithin(first, 30_000, 'the decommissioned agent');
    expect(exit.code).to.equal(0);
    const operationId = (removed.json as { operation_id: string }).operation_id;
    expect(master.decommissions.require(operationId).state).to.equal('completed');
    expect(first.lines.filter((r) => r.event === 'decommission_acknowledged')).to.have.length(2);

    // As if the process had stopped between the finalized tombstone and the keeper clean-up: the token is still there.
    const stateFile = path.join(dataDir, 'tunnel_state.json');
    await writeFile(
      stateFile,
      '{"token": "leftover-token-aaaaaaaaaaaaaaaaaaaaaaaa", "id": "t", "name": "n", "desired_state": "stopped"}',
    );
    const port = 20000 + Math.floor(Math.random() * 20000);
    const seen = master.requests.length;
    const again = await harness.process({
      dataDir,
      key,
      env: { HEALTH_CHECK_PORT: String(port), HEALTH_BIND_ADDRESS: '127.0.0.1' },
    });
    const said = await again.waitFor((r) => r.event === 'agent_decommissioned', 15_000);
    expect(String(said.tombstone)).to.match(/decommission\.json$/);
    expect(JSON.parse(await readFile(stateFile, 'utf8')), 'the token cleared at start').to.include({
      token: null,
      id: null,
    });
    const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
    expect(health.status).to.equal(200);
    expect(await health.json()).to.include({ status: 'decommissioned', lifecycle: 'decommissioned' });
    // Silence can only be watched for: a few of its intervals, in which a serving agent would have called many times.
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    expect(master.requests.slice(seen), 'no request to the master').to.deep.equal([]);
    const tunnel = await inspectOrNull(testDocker(), TUNNEL_CONTAINER);
    expect(tunnel, 'the tunnel container is kept').not.to.equal(null);
    expect(tunnel!.State.Running, 'and stays stopped').to.equal(false);
    expect(again.child.exitCode, 'the agent idles; it does not exit into a restart loop').to.equal(null);
    const quiet = await harness.process({ dataDir, key, env: { HEALTH_CHECK_PORT: '0' } });
    await quiet.waitFor((r) => r.event === 'agent_decommissioned', 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(quiet.child.exitCode, 'idle without a health server too').to.equal(null);
    expect(again.lines.filter((r) => Number(r.level) >= 40).map((r) => r.event)).to.deep.equal([
      'agent_decommissioned',
    ]);
  });

  it('killed after the finalized tombstone but before the master took the final ack, it sends it after a restart', async () => {
    const master = await harness.master();
    const dataDir = await harness.tempDir('dfa-decom-');
    const key = master.generateKey();
    const first = await harness.process({ dataDir, key });
    const agentId = String((await first.waitFor((r) => r.event === 'registered')).agentId);
    master.addFault({ endpoint: 'ack', eventType: 'shutdown_scheduled', fault: { kind: 'drop' }, times: 1000 });
    master.decommissions.start(master.agent(agentId)!);
    await first.waitFor((r) => r.event === 'decommission_ack_retrying', 20_000);
    first.child.kill('SIGKILL');
    await exitWithin(first, 10_000, 'the killed agent');
    master.clearFaults();
    const op = master.decommissions.ofAgent(agentId)!;
    expect(op.state, 'the master still waits for the final acknowledgement').to.equal('waiting_for_finalize');
    const again = await harness.process({ dataDir, key });
    const exit = await exitWithin(again, 30_000, 'the restarted agent');
    expect(exit.code).to.equal(0);
    expect(op.state).to.equal('completed');
    expect(again.lines.some((r) => r.event === 'decommission_under_way_at_start')).to.equal(true);
    const tomb = JSON.parse(await readFile(path.join(dataDir, 'decommission.json'), 'utf8')) as Record<string, unknown>;
    expect(tomb.final_acknowledged_at).to.be.a('string');
  });
});
