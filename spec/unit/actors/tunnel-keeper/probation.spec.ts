import { expect } from 'chai';
import {
  confirmDueIn,
  newKeeperMemory,
  probationFor,
  stillRunning,
  type Run,
} from '../../../../actors/tunnel-keeper/probation.js';
import type { ContainerState } from '../../../../docker/port.js';

const NOW = Date.UTC(2026, 10, 29, 10, 0, 0);
const run = (over: Partial<Run> = {}): Run => ({
  containerId: 'c1',
  startedAt: new Date(NOW - 60_000).toISOString(),
  restartCount: 0,
  ...over,
});
const container = (over: Partial<ContainerState> = {}): ContainerState => ({
  id: 'c1',
  name: 'dockflare-agent-tunnel',
  status: 'running',
  running: true,
  restarting: false,
  image: 'cloudflared',
  env: [],
  startedAt: run().startedAt,
  restartCount: 0,
  exitCode: null,
  labels: {},
  ...over,
});

describe('tunnel start confirm: which run counts from when', () => {
  it('a container the keeper created counts from now, keeps its cause and is remembered', () => {
    const memory = newKeeperMemory();
    const p = probationFor(memory, {
      run: run({ startedAt: new Date(NOW).toISOString() }),
      created: true,
      cause: 'start_tunnel',
      now: NOW,
      firstLook: true,
    });
    expect(p).to.include({ since: NOW, cause: 'start_tunnel', created: true });
    expect(memory.created).to.deep.equal(p);
    expect(confirmDueIn(p, NOW + 500, 2000)).to.equal(1500);
    expect(confirmDueIn(p, NOW + 2000, 2000)).to.equal(0);
  });

  it("one found running at the first look counts from Docker's start: an hour-old run is confirmed at once", () => {
    const memory = newKeeperMemory();
    const p = probationFor(memory, { run: run(), created: false, cause: 'restore', now: NOW, firstLook: true });
    expect(p).to.include({ since: NOW - 60_000, created: false });
    expect(confirmDueIn(p, NOW, 2000)).to.equal(0);
    expect(memory.created, 'found, not made: nothing to carry').to.equal(null);
  });

  it('one found later, or stamped in the future by a skewed engine clock, counts from our own clock', () => {
    const memory = newKeeperMemory();
    expect(
      probationFor(memory, { run: run(), created: false, cause: 'check', now: NOW, firstLook: false }).since,
    ).to.equal(NOW);
    const future = run({ startedAt: new Date(NOW + 3_600_000).toISOString() });
    expect(
      probationFor(memory, { run: future, created: false, cause: 'restore', now: NOW, firstLook: true }).since,
    ).to.equal(NOW);
    expect(
      probationFor(memory, { run: run({ startedAt: '' }), created: false, cause: 'restore', now: NOW, firstLook: true })
        .since,
    ).to.equal(NOW);
  });

  it('its own container, found again by a restarted keeper, goes on as created where its probation was', () => {
    const memory = newKeeperMemory();
    const fresh = run({ startedAt: new Date(NOW).toISOString() });
    probationFor(memory, { run: fresh, created: true, cause: 'restart_tunnel', now: NOW, firstLook: false });
    const again = probationFor(memory, {
      run: fresh,
      created: false,
      cause: 'restore',
      now: NOW + 800,
      firstLook: true,
    });
    expect(again).to.include({ created: true, cause: 'restart_tunnel', since: NOW });
    expect(confirmDueIn(again, NOW + 800, 2000)).to.equal(1200);
  });

  it('the same container restarted by Docker in between is another run: not carried', () => {
    const memory = newKeeperMemory();
    const fresh = run({ startedAt: new Date(NOW).toISOString() });
    probationFor(memory, { run: fresh, created: true, cause: 'start_tunnel', now: NOW, firstLook: false });
    const restarted = { ...fresh, startedAt: new Date(NOW + 900).toISOString(), restartCount: 1 };
    const p = probationFor(memory, {
      run: restarted,
      created: false,
      cause: 'restore',
      now: NOW + 1000,
      firstLook: true,
    });
    expect(p).to.include({ created: false, cause: 'restore', since: NOW + 900 });
  });

  it('the run is still going only when the same container runs, is not being restarted, and has not restarted', () => {
    const p = probationFor(newKeeperMemory(), {
      run: run(),
      created: false,
      cause: 'check',
      now: NOW,
      firstLook: false,
    });
    expect(stillRunning(container(), p)).to.equal(true);
    expect(stillRunning(null, p), 'removed').to.equal(false);
    expect(stillRunning(container({ running: false, status: 'exited' }), p), 'exited').to.equal(false);
    expect(stillRunning(container({ restarting: true }), p), 'being restarted (Docker says running)').to.equal(false);
    expect(stillRunning(container({ restartCount: 1 }), p), 'restarted').to.equal(false);
    expect(stillRunning(container({ startedAt: new Date(NOW).toISOString() }), p), 'started again').to.equal(false);
    expect(stillRunning(container({ id: 'c2' }), p), 'another container').to.equal(false);
  });
});
