/**
 * Scenarios 4, 5 and 8 on one agent (COMMAND_POLL_INTERVAL_SECONDS=1): the command that starts the tunnel,
 * the tunnel container killed or removed behind the agent's back, and SIGTERM. "Running" is Docker's `start`
 * event for `dockflare-agent-tunnel` (its timeNano), cross-checked by an inspect poll every 20 ms.
 */
import type Docker from 'dockerode';
import { BENCH_NETWORK, CLOUDFLARED_IMAGE, terminate } from './agent.js';
import { BENCH_LABEL, EventRecorder, inspectOrNull, removeForce, RUN_ID, TUNNEL_CONTAINER } from './docker.js';
import { masterWait, registeredId, withAgent, type BenchContext } from './session.js';
import { max, median, pause, round, say, waitUntil } from './util.js';

export interface CommandResult {
  settings: string;
  /** Master receipt of the poll whose reply carried start_tunnel → Docker's start event of the tunnel. */
  fetchedToRunningMs: number | null;
  /** The same end point seen by polling inspect every 20 ms (an upper bound, includes up to 20 ms of polling). */
  fetchedToRunningByInspectMs: number | null;
  enrollToFetchedMs: number | null;
  networkExisted: boolean;
  /**
   * Control: the bench's own create + start of a container of the same image on the same network, from the request
   * to Docker's start event (median of 3, with the agent stopped): what the engine alone takes on this machine.
   */
  bareCreateStartMs: number | null;
}

export interface RecoveryRun {
  ms: number | null;
  by: 'docker restart policy' | 'agent (new container)' | 'not running again';
}
export interface RecoveryResult {
  runs: RecoveryRun[];
  medianMs: number | null;
  maxMs: number | null;
  recovered: number;
}

export interface ShutdownResult {
  exitMs: number | null;
  exitCode: number | null;
  signal: string | null;
  tunnelRemoved: boolean | null;
  tunnelWasRunning: boolean;
}

export interface TunnelResults {
  command: CommandResult;
  kill: RecoveryResult;
  rm: RecoveryResult;
  sigterm: ShutdownResult;
}

const NETWORK_NOTE = 'the bench network already existed (created by the idle scenario) unless networkExisted is false';

async function runningTunnel(docker: Docker): Promise<Docker.ContainerInspectInfo | null> {
  const info = await inspectOrNull(docker, TUNNEL_CONTAINER);
  return info?.State.Running === true ? info : null;
}

/** Kill or remove the running tunnel container; time until a `dockflare-agent-tunnel` runs again. */
async function breakTunnel(ctx: BenchContext, rec: EventRecorder, how: 'kill' | 'rm'): Promise<RecoveryRun> {
  const before = await waitUntil(() => runningTunnel(ctx.docker), ctx.deadline.bound(15_000), 20);
  if (!before) return { ms: null, by: 'not running again' };
  // Let the agent settle after the previous round (its post-die check runs 300 ms after an event).
  await pause(ctx.deadline.bound(1500));
  const t0 = Date.now();
  if (how === 'kill') await ctx.docker.getContainer(TUNNEL_CONTAINER).kill();
  else await ctx.docker.getContainer(TUNNEL_CONTAINER).remove({ force: true });
  const ev = await waitUntil(
    () => rec.first((e) => e.name === TUNNEL_CONTAINER && e.action === 'start' && e.ms > t0),
    ctx.deadline.bound(20_000),
    5,
  );
  if (!ev) return { ms: null, by: 'not running again' };
  return { ms: round(ev.ms - t0), by: ev.id === before.Id ? 'docker restart policy' : 'agent (new container)' };
}

/** One create + start of the tunnel's image by the bench itself: request → Docker's start event, in ms. */
async function bareCreateStart(docker: Docker, rec: EventRecorder): Promise<number> {
  const t0 = Date.now();
  const c = await docker.createContainer({
    name: `dfa-bench-bare-start-${RUN_ID}-${Math.random().toString(16).slice(2, 8)}`,
    Image: CLOUDFLARED_IMAGE,
    Cmd: ['tunnel', '--no-autoupdate', 'run'],
    Env: ['TUNNEL_TOKEN=bench-control'],
    Labels: { [BENCH_LABEL]: RUN_ID },
    HostConfig: { NetworkMode: BENCH_NETWORK },
  });
  try {
    await c.start();
    const ev = await waitUntil(() => rec.first((e) => e.id === c.id && e.action === 'start'), 10_000, 5);
    if (!ev) throw new Error('no start event for the control container');
    return round(ev.ms - t0) ?? 0;
  } finally {
    await removeForce(docker, c.id).catch(() => undefined);
  }
}

function recovery(runs: RecoveryRun[]): RecoveryResult {
  const ok = runs.map((r) => r.ms).filter((x): x is number => x !== null);
  // A run that never recovered makes max unknown (infinite), not the max of the others.
  return {
    runs,
    medianMs: ok.length === runs.length ? median(ok) : null,
    maxMs: ok.length === runs.length ? max(ok) : null,
    recovered: ok.length,
  };
}

export async function tunnelScenarios(ctx: BenchContext, reps = 3): Promise<TunnelResults> {
  const { docker } = ctx;
  const rec = await EventRecorder.start(docker);
  try {
    return await withAgent(ctx, 'tunnel', { COMMAND_POLL_INTERVAL_SECONDS: '1' }, async (s) => {
      const reg = await registeredId(s, ctx.deadline.bound(15_000));
      if (!reg) throw new Error('the agent did not register within 15 s');
      const networkExisted = await docker
        .getNetwork(BENCH_NETWORK)
        .inspect()
        .then(
          () => true,
          () => false,
        );
      const enrolledAt = Date.now();
      s.master.enroll(reg.agentId, 'bench-tunnel');
      // Cross-check the event with inspect every 20 ms, started before the command can possibly be fetched.
      const byInspect = waitUntil(
        async () => ((await runningTunnel(docker)) ? Date.now() : null),
        ctx.deadline.bound(20_000),
        20,
      );
      const poll = await masterWait(
        s.master,
        (r) =>
          r.endpoint === 'commands' &&
          ((r.response as { commands?: { action?: unknown }[] } | undefined)?.commands ?? []).some(
            (c) => c.action === 'start_tunnel',
          ),
        ctx.deadline.bound(10_000),
      );
      const started = poll
        ? await waitUntil(
            () => rec.first((e) => e.name === TUNNEL_CONTAINER && e.action === 'start' && e.ms >= poll.at - 1),
            ctx.deadline.bound(20_000),
            5,
          )
        : null;
      const inspectAt = await byInspect;
      const command: CommandResult = {
        settings: `COMMAND_POLL_INTERVAL_SECONDS=1; stand-in cloudflared image present locally (no pull); ${NETWORK_NOTE}`,
        fetchedToRunningMs: poll && started ? round(started.ms - poll.at) : null,
        fetchedToRunningByInspectMs: poll && inspectAt !== null ? inspectAt - poll.at : null,
        enrollToFetchedMs: poll ? poll.at - enrolledAt : null,
        networkExisted,
        bareCreateStartMs: null,
      };
      say(
        `command: fetched → running ${String(command.fetchedToRunningMs)} ms (inspect: ${String(command.fetchedToRunningByInspectMs)} ms)`,
      );

      const kills: RecoveryRun[] = [];
      const rms: RecoveryRun[] = [];
      for (let i = 0; i < reps; i++) {
        ctx.deadline.check('tunnel kill/rm');
        kills.push(await breakTunnel(ctx, rec, 'kill'));
        say(
          `tunnel docker kill ${i + 1}: running again after ${String(kills.at(-1)?.ms)} ms (${String(kills.at(-1)?.by)})`,
        );
      }
      for (let i = 0; i < reps; i++) {
        ctx.deadline.check('tunnel rm -f');
        rms.push(await breakTunnel(ctx, rec, 'rm'));
        say(
          `tunnel docker rm -f ${i + 1}: running again after ${String(rms.at(-1)?.ms)} ms (${String(rms.at(-1)?.by)})`,
        );
      }

      // Scenario 8 ends this agent: SIGTERM with the tunnel running, as `docker stop` would send it.
      const wasRunning = (await waitUntil(() => runningTunnel(docker), ctx.deadline.bound(15_000), 20)) !== null;
      await pause(ctx.deadline.bound(1000));
      const { exitMs, exit } = await terminate(s.agent, 15_000);
      const tunnelRemoved = exit ? (await inspectOrNull(docker, TUNNEL_CONTAINER)) === null : null;
      say(
        `SIGTERM: exit after ${String(exitMs)} ms (code ${String(exit?.code)}), tunnel removed: ${String(tunnelRemoved)}`,
      );
      const bare: number[] = [];
      for (let i = 0; i < 3 && ctx.deadline.remaining() > 0; i++) bare.push(await bareCreateStart(docker, rec));
      command.bareCreateStartMs = median(bare);
      say(`control: create + start of the same image by the bench: ${String(command.bareCreateStartMs)} ms`);
      return {
        command,
        kill: recovery(kills),
        rm: recovery(rms),
        sigterm: {
          exitMs,
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          tunnelRemoved,
          tunnelWasRunning: wasRunning,
        },
      };
    });
  } finally {
    rec.close();
  }
}
