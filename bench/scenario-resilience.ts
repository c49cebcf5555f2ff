/**
 * Scenarios 6 and 7 on one agent with default settings: the Docker daemon restarted under it, then a 20 s
 * master outage (10 s of 503 on events, 10 s of dropped connections on every endpoint).
 */
import { ensureDaemonRunning, privateDaemon, startDaemon, stopDaemon } from '../spec/helpers/docker-daemon.js';
import { createContainer, EventRecorder, firstPing, removeForce, type BenchContainer } from './docker.js';
import { acceptedByContainer, subscribed, withAgent, type BenchContext, type Session } from './session.js';
import { errorText, pause, round, say, waitUntil } from './util.js';

export type DaemonResult =
  | { skipped: true; reason: string }
  | {
      skipped: false;
      downMs: number;
      pingToDeliveredMs: number | null;
      pingToContainerStartMs: number | null;
      containerStartToDeliveredMs: number | null;
      watcherCrashes: number;
    };

export interface OutageResult {
  settings: string;
  started: number;
  deliveredTotal: number;
  deliveredWithin5s: number;
  duplicates: number;
  recoveryToLastDeliveredMs: number | null;
  acceptedDuringOutage: number;
}

const LABELS = { 'dockflare.enable': 'true', 'dockflare.hostname': 'resilience.example.com' };

async function daemonRestart(ctx: BenchContext, s: Session): Promise<DaemonResult> {
  const d = privateDaemon();
  if (!d)
    return {
      skipped: true,
      reason:
        'needs the private dockerd of scripts/with-dockerd.sh (DOCKERTEST_DIR and DOCKERTEST_DOCKERD_ARGS unset: a shared engine is never restarted)',
    };
  const crashes = (): number =>
    s.agent.lines.filter((l) => l.event === 'actor_crashed' && l.actor === 'event-watcher').length;
  let fresh: BenchContainer | undefined;
  try {
    const stoppedAt = Date.now();
    await stopDaemon(d, ctx.deadline.bound(30_000));
    // Down long enough for the agent to notice and for its restarted watcher to fail against the dead engine.
    await waitUntil(() => crashes() >= 1, ctx.deadline.bound(10_000), 20);
    await pause(ctx.deadline.bound(2000));
    // Settled into a value at once, so a failure while we wait for the ping is never an unhandled rejection.
    const starting = startDaemon(d, ctx.deadline.bound(60_000)).then(
      () => null,
      (err: unknown) => err,
    );
    const upAt = await firstPing(d.socketPath, ctx.deadline.bound(60_000));
    if (upAt === null) throw new Error('the restarted dockerd did not answer /_ping');
    // Our own subscription and the labelled container, at once: every ms spent here counts against the agent.
    const [rec, created] = await Promise.all([
      EventRecorder.start(ctx.docker),
      createContainer(ctx.docker, LABELS, 'dfa-bench-daemon'),
    ]);
    fresh = created;
    try {
      await ctx.docker.getContainer(created.id).start();
      const startError = await starting;
      if (startError !== null) throw startError instanceof Error ? startError : new Error(errorText(startError));
      const got = await waitUntil(
        () => acceptedByContainer(s.master, 'container_start').get(created.id)?.[0],
        ctx.deadline.bound(30_000),
        5,
      );
      const ev = rec.first((e) => e.id === created.id && e.action === 'start');
      return {
        skipped: false,
        downMs: upAt - stoppedAt,
        pingToDeliveredMs: got ? got.at - upAt : null,
        pingToContainerStartMs: ev ? round(ev.ms - upAt) : null,
        containerStartToDeliveredMs: got && ev ? round(got.at - ev.ms) : null,
        watcherCrashes: crashes(),
      };
    } finally {
      rec.close();
    }
  } finally {
    // Whatever failed above, the later scenarios and the cleanup need the engine back.
    await ensureDaemonRunning(d).catch((err: unknown) => {
      say(`could not bring dockerd back: ${errorText(err)}`);
    });
    if (fresh) await removeForce(ctx.docker, fresh.id).catch(() => undefined);
  }
}

async function masterOutage(ctx: BenchContext, s: Session): Promise<OutageResult> {
  const containers = await Promise.all(
    Array.from({ length: 10 }, () => createContainer(ctx.docker, LABELS, 'dfa-bench-outage')),
  );
  try {
    const t0 = Date.now();
    s.master.addFault({ fault: { kind: 'status', status: 503 }, endpoint: 'events' });
    // One start every 2 s, at 1, 3, …, 19 s: five in the 503 phase, five while connections are dropped.
    for (const [i, c] of containers.entries()) {
      if (i === 5) {
        await pause(t0 + 10_000 - Date.now());
        s.master.clearFaults();
        s.master.addFault({ fault: { kind: 'drop' } });
      }
      await pause(t0 + 1000 + i * 2000 - Date.now());
      await ctx.docker.getContainer(c.id).start();
    }
    await pause(t0 + 20_000 - Date.now());
    s.master.clearFaults();
    const recoveredAt = Date.now();
    say('outage over: faults cleared, waiting (≤ 45 s) for the 10 container_start events');
    const delivered = (): Map<string, number[]> => {
      const got = acceptedByContainer(s.master, 'container_start');
      const out = new Map<string, number[]>();
      for (const c of containers) {
        const ats = (got.get(c.id) ?? []).map((r) => r.at);
        if (ats.length > 0) out.set(c.id, ats);
      }
      return out;
    };
    await waitUntil(() => delivered().size === containers.length, ctx.deadline.bound(45_000), 20);
    await pause(ctx.deadline.bound(1000));
    const got = delivered();
    const firstAts = [...got.values()].map((ats) => Math.min(...ats));
    return {
      settings:
        'agent defaults; 503 on events for 10 s, then every connection dropped for 10 s; one container start every 2 s meanwhile',
      started: containers.length,
      deliveredTotal: got.size,
      deliveredWithin5s: firstAts.filter((at) => at <= recoveredAt + 5000).length,
      duplicates: [...got.values()].reduce((n, list) => n + list.length - 1, 0),
      recoveryToLastDeliveredMs: got.size === containers.length ? Math.max(...firstAts) - recoveredAt : null,
      acceptedDuringOutage: firstAts.filter((at) => at < recoveredAt).length,
    };
  } finally {
    s.master.clearFaults();
    await Promise.all(containers.map((c) => removeForce(ctx.docker, c.id).catch(() => undefined)));
  }
}

export async function resilienceScenarios(
  ctx: BenchContext,
): Promise<{ daemon: DaemonResult | { error: string }; outage: OutageResult | { error: string } }> {
  return withAgent(ctx, 'resilience', {}, async (s) => {
    if (!(await subscribed(s, ctx.deadline.bound(20_000))))
      throw new Error('the agent did not subscribe to Docker events within 20 s');
    let daemon: DaemonResult | { error: string };
    try {
      daemon = await daemonRestart(ctx, s);
      say(`daemon restart: ${JSON.stringify(daemon)}`);
    } catch (err) {
      daemon = { error: errorText(err) };
      say(`daemon restart failed: ${daemon.error}`);
    }
    let outage: OutageResult | { error: string };
    try {
      ctx.deadline.check('the master outage');
      outage = await masterOutage(ctx, s);
      say(
        `outage: ${outage.deliveredWithin5s}/${outage.started} within 5 s, all after ${String(outage.recoveryToLastDeliveredMs)} ms`,
      );
    } catch (err) {
      outage = { error: errorText(err) };
    }
    return { daemon, outage };
  });
}
