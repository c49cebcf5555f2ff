import { expect } from 'chai';
import { tunnelDecommission, tunnelStart, type TunnelDecommissioned } from '../../../../messages/tunnel-keeper.js';
import { callbackRef } from '../../../../supervisor/actor-ref.js';
import { DockerError } from '../../../../docker/port.js';
import { assigned, CONFIRM_MS, ASSIGNMENT, type KeeperRun } from '../../../helpers/keeper-run.js';

/** The keeper's part of a decommission, against the fake engine: stop and keep, in the stored order. */
async function step(run: KeeperRun, phase: 'prepare' | 'finalize'): Promise<TunnelDecommissioned> {
  const replies: TunnelDecommissioned[] = [];
  await run.send(
    tunnelDecommission(
      phase,
      callbackRef('spec', (r: TunnelDecommissioned) => replies.push(r)),
    ),
  );
  expect(replies).to.have.length(1);
  return replies[0]!;
}

async function prepared(): Promise<KeeperRun> {
  const run = await assigned();
  await run.advance(CONFIRM_MS);
  run.lifecycle.lifecycle = 'prepared';
  return run;
}

describe('tunnel keeper: decommission', () => {
  it('stores the stopped state (token kept) before it stops the container, and never removes it', async () => {
    const run = await prepared();
    const seenAtStop: string[] = [];
    run.docker.onStop = () => seenAtStop.push(run.saved.desired_state);
    const reply = await step(run, 'prepare');
    expect(reply).to.deep.equal({
      tunnelContainer: 'stopped',
      cloudflaredImage: 'cloudflare/cloudflared:test',
      errorCode: null,
    });
    expect(run.saved).to.include({ desired_state: 'stopped', token: ASSIGNMENT.token });
    expect(run.docker.stopped).to.deep.equal(['tunnel-1']);
    expect(seenAtStop, 'stored as stopped before the stop').to.deep.equal(['stopped']);
    expect(run.docker.removed, 'never removed').to.deep.equal([]);
    expect(run.docker.container).to.include({ running: false });
    expect(run.docker.stopTimeouts.at(-1), 'cloudflared gets 15 s').to.equal(15);
  });

  it('a second prepare (a new command id) stops nothing again; an absent container is `absent`', async () => {
    const run = await prepared();
    await step(run, 'prepare');
    expect((await step(run, 'prepare')).tunnelContainer).to.equal('stopped');
    expect(run.docker.stopped, 'one stop').to.have.length(1);
    run.docker.removeFromOutside();
    expect((await step(run, 'prepare')).tunnelContainer).to.equal('absent');
  });

  it('a container that had exited before the prepare is `stopped` without a stop call', async () => {
    const run = await prepared();
    run.docker.container = { ...run.docker.container!, running: false, status: 'exited', exitCode: 1 };
    expect((await step(run, 'prepare')).tunnelContainer).to.equal('stopped');
    expect(run.docker.stopped, 'no stop call').to.deep.equal([]);
  });

  it('restores nothing while prepared: checks and its container events make no Docker call', async () => {
    const run = await prepared();
    await step(run, 'prepare');
    await run.advance(10 * 30_000);
    expect(run.docker.created, 'no new container').to.have.length(1);
    expect(run.docker.container).to.include({ running: false });
    await run.send(tunnelStart(ASSIGNMENT));
    expect(run.docker.created, 'start_tunnel ignored').to.have.length(1);
    expect(run.sink.events('command_ignored')).to.have.length(1);
    run.kill();
    await run.start();
    expect(run.docker.created, 'a new incarnation does not restore either').to.have.length(1);
    expect(run.sink.events('tunnel_not_restored')).to.have.length(1);
  });

  it('a failed stop answers tunnel_stop_failed; a refused write answers state_persistence_failed and stops nothing', async () => {
    const run = await prepared();
    run.saves = false;
    expect(await step(run, 'prepare')).to.include({ tunnelContainer: 'failed', errorCode: 'state_persistence_failed' });
    expect(run.docker.container).to.include({ running: true });
    run.saves = true;
    run.docker.onStop = () => {
      throw new DockerError('unavailable', 'stop container', null, 'daemon gone');
    };
    expect(await step(run, 'prepare')).to.include({ tunnelContainer: 'failed', errorCode: 'tunnel_stop_failed' });
  });

  it('finalize stops a tunnel container running again (started by hand since the prepare), and keeps it', async () => {
    const run = await prepared();
    run.lifecycle.lifecycle = 'decommissioned';
    expect(await step(run, 'finalize')).to.include({ tunnelContainer: 'stopped', errorCode: null });
    expect(run.docker.stopped).to.deep.equal(['tunnel-1']);
    expect(run.docker.removed).to.deep.equal([]);
  });

  it('finalize clears the token, id and name from the disk and leaves the container as it is', async () => {
    const run = await prepared();
    await step(run, 'prepare');
    run.lifecycle.lifecycle = 'decommissioned';
    expect((await step(run, 'finalize')).errorCode).to.equal(null);
    expect(run.saved).to.deep.equal({ token: null, id: null, name: null, desired_state: 'stopped' });
    expect(run.docker.container, 'still there').not.to.equal(null);
  });

  it('the teardown at shutdown leaves the stopped container while a decommission is under way', async () => {
    const run = await prepared();
    await step(run, 'prepare');
    await run.teardown(Number.MAX_SAFE_INTEGER);
    expect(run.docker.removed).to.deep.equal([]);
    expect(run.sink.events('tunnel_left_stopped')).to.have.length(1);
  });
});
