import { expect } from 'chai';
import { REMOVAL_RESERVE_MS } from '../../../../actors/tunnel-keeper/teardown.js';
import { tunnelContainerEvent, tunnelStart } from '../../../../messages/tunnel-keeper.js';
import { ASSIGNMENT, assigned, CONFIRM_MS, DEBUG, ERROR, KeeperRun } from '../../../helpers/keeper-run.js';

describe('tunnel keeper: the start confirm against a fake engine and a manual clock', () => {
  it('tells the master the tunnel runs only once its run has lasted the confirm time, and only once', async () => {
    const run = await assigned();
    await run.advance(CONFIRM_MS - 1);
    expect(run.told, 'not yet').to.deep.equal([]);
    await run.advance(1);
    expect(run.told).to.deep.equal(['running']);
    expect(run.sink.events('tunnel_started').map((r) => r.containerId)).to.deep.equal(['tunnel-1']);
    await run.advance(5 * 30_000);
    expect(run.told, 'the periodic checks tell nothing new').to.deep.equal(['running']);
    expect(run.docker.created).to.have.length(1);
  });

  it('a container that exits by itself is a start failure: first timed afresh, then backed off, and its own dies do not cut the backoff short', async () => {
    const run = await assigned();
    await run.advance(500);
    await run.exitsBySelf();
    await run.advance(300);
    const first = run.sink.events('tunnel_start_failed');
    expect(first, 'the first failure').to.have.length(1);
    expect(first[0]).to.include({ level: ERROR, exitCode: 1, restarts: 1 });
    expect(first[0]!.logTail).to.deep.equal(['INF Version 2026.1.0', 'ERR Provided Tunnel token is not valid']);
    expect(run.told, 'never told running').to.deep.equal([]);

    await run.advance(1000);
    await run.exitsBySelf();
    await run.advance(300);
    const second = run.sink.events('tunnel_start_failed');
    expect(second, 'the second failure').to.have.length(2);
    expect(second[1], 'the same failure again, quietly').to.include({ level: DEBUG });
    const retryInMs = second[1]!.retryInMs as number;
    expect(retryInMs, 'a backoff').to.be.at.least(2000);
    const due = run.clock.nextDue();

    await run.exitsBySelf();
    expect(run.clock.nextDue(), 'a die during the backoff pulls no check earlier').to.equal(due);
    await run.advance(due! - run.clock.now() + CONFIRM_MS);
    expect(run.told, 'the run after the backoff lasted: told once').to.deep.equal(['running']);
    expect(run.sink.events('tunnel_recovered')).to.have.length(1);
  });

  it('a container removed from outside during the confirm is replaced at once, not counted as a failure, and only the replacement is told', async () => {
    const run = await assigned();
    await run.advance(500);
    run.docker.removeFromOutside();
    await run.send(tunnelContainerEvent('destroy', 'tunnel-1'));
    await run.advance(0);
    expect(run.docker.created, 'replaced without waiting').to.deep.equal(['tunnel-1', 'tunnel-2']);
    expect(run.sink.events('tunnel_start_failed')).to.deep.equal([]);
    await run.advance(CONFIRM_MS);
    expect(run.told).to.deep.equal(['running']);
    expect(run.sink.events('tunnel_started').map((r) => r.containerId)).to.deep.equal(['tunnel-2']);
  });

  it('a keeper killed while it creates the container: the next one waits for that call, then finds the container, and only one is made', async () => {
    const run = new KeeperRun();
    await run.start();
    const open = run.docker.holdCreates();
    const first = run.send(tunnelStart(ASSIGNMENT)); // Stored, then waiting for Docker to create the container.
    await run.advance(0);
    run.kill();
    const next = run.start(); // Its first check must wait for the killed keeper's call.
    for (let i = 0; i < 5; i++)
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      }); // Let it get as far as it can.
    expect(run.docker.created, 'nothing created while the first call is out').to.deep.equal([]);
    open();
    await Promise.all([first, next]);
    await run.advance(CONFIRM_MS);
    expect(run.docker.created, 'one container').to.deep.equal(['tunnel-1']);
    expect(run.told).to.deep.equal(['running']);
    expect(
      run.sink.events('tunnel_started').map((r) => r.containerId),
      'confirmed as the one this process made',
    ).to.deep.equal(['tunnel-1']);
  });
});

/** A keeper told to start the tunnel, killed while Docker holds its create: the call runs on. */
async function killedWhileCreating(): Promise<{ run: KeeperRun; open: () => void; first: Promise<void> }> {
  const run = new KeeperRun();
  await run.start();
  const open = run.docker.holdCreates();
  const first = run.send(tunnelStart(ASSIGNMENT));
  await run.advance(0);
  run.kill();
  return { run, open, first };
}

describe('tunnel keeper: the removal at shutdown', () => {
  /** Lets every promise that can settle without the clock do so. */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 10; i++)
      await new Promise<void>((resolve) => {
        setImmediate(resolve);
      });
  };

  it('removes the running container when no keeper runs (one backing off after a crash)', async () => {
    const run = await assigned();
    await run.advance(CONFIRM_MS);
    run.kill();
    await run.teardown(run.clock.now() + 8000);
    expect(run.docker.removed).to.deep.equal(['tunnel-1']);
    expect(run.sink.events('tunnel_removed_on_shutdown').map((r) => r.containerId)).to.deep.equal(['tunnel-1']);
  });

  it('after a keeper killed while it creates the container: waits for that call, then removes what it made', async () => {
    const { run, open, first } = await killedWhileCreating();
    const removal = run.teardown(run.clock.now() + 8000);
    await settle();
    expect(run.docker.removed, 'nothing removed while the create is out').to.deep.equal([]);
    open();
    await Promise.all([first, removal]);
    expect(run.docker.created).to.deep.equal(['tunnel-1']);
    expect(run.docker.removed, 'the container the killed keeper made').to.deep.equal(['tunnel-1']);
    expect(run.docker.container, 'none left').to.equal(null);
    expect(run.sink.events('tunnel_previous_operation_slow')).to.deep.equal([]);
  });

  it('does not wait past the budget for a call that does not end: removes in time and says so', async () => {
    const { run, open, first } = await killedWhileCreating();
    let done = false;
    const removal = run.teardown(run.clock.now() + 8000).then(() => {
      done = true;
    });
    await run.advance(8000 - REMOVAL_RESERVE_MS - 1);
    await settle();
    expect(done, 'still waiting for the create').to.equal(false);
    await run.advance(1);
    await removal;
    expect(run.sink.events('tunnel_previous_operation_slow'), 'said so').to.have.length(1);
    expect(run.sink.events('tunnel_none_on_shutdown'), 'nothing there yet to remove').to.have.length(1);
    open();
    await first;
  });

  it("sizes cloudflared's stop grace to what is left of the budget, down to a kill at once", async () => {
    const run = await assigned();
    await run.advance(CONFIRM_MS);
    await run.teardown(run.clock.now() + 1500);
    expect(run.docker.stopTimeouts, 'under 2 s left: no grace').to.deep.equal([0]);
    expect(run.docker.removed).to.deep.equal(['tunnel-1']);
    await run.teardown(run.clock.now() + 8000);
    expect(run.docker.stopTimeouts, 'with the budget: the configured cap').to.deep.equal([0, 5]);
  });
});
