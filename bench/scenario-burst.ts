/**
 * Scenario 3: a burst, as `docker compose up -d` and `down` of a stack make one. 52 labelled containers (46
 * dockflare.enable, 6 legacy cloudflare.tunnel.enable) and 4 with dockflare.enable=false are started in parallel, then
 * stopped in parallel, from a load-generator process. Latency starts at Docker's own event time (timeNano) and ends
 * at the master's receipt of the accepted event. Two controls (burst-controls.ts): a bare subscriber of the same
 * event stream beside the agent (the engine and the machine), and in a pass of its own with the same containers, a
 * serial poster with its own test master (the protocol floor: v2 allows one event request in flight). Run twice:
 * against a master that answers at once and one that takes 20 ms per event (the real master writes its state file
 * on every event). The scale scenario runs the same pair with 200 containers on a host of 500 (burstPair).
 */
import type { TestMaster } from '../spec/master/index.js';
import { bareSubscriber, protocolFloor } from './burst-controls.js';
import { measure, type DeliveryStats, type LatencyStats, type Made, type PassFigures } from './burst-measure.js';
import { createContainer, EventRecorder, removeForce } from './docker.js';
import { LoadWorker } from './load-worker.js';
import { acceptedByContainer, bodyType, masterWait, subscribed, withAgent, type BenchContext } from './session.js';
import { pause, say, waitUntil } from './util.js';

export type { LatencyStats } from './burst-measure.js';

/** The agent's pass with the protocol floor's pass beside it, at one master delay. */
export interface BurstRun extends PassFigures {
  masterDelayMs: number;
  labelled: number;
  /** A wait for the master's receipts ran out (the run's deadline, or events not delivered): "lost" may be that. */
  timedOut: boolean;
  /** Docker's event time → the floor master's receipt of the serial poster's accepted event (a pass of its own). */
  floor: LatencyStats;
  /** The bare subscriber in the floor's pass. */
  floorBare: LatencyStats;
  /** The floor pass's delivery and whether it timed out (a floor that lost events looks faster). */
  floorDelivery: DeliveryStats;
  floorTimedOut: boolean;
}

export interface BurstPairResult {
  fast: BurstRun;
  slow: BurstRun;
}

export interface BurstResult extends BurstPairResult {
  settings: string;
}

/** How many containers of each kind a burst starts and stops. */
export interface BurstPlan {
  labelled: number;
  legacy: number;
  disabled: number;
}

/** One burst pair's agent settings: its name in the logs, environment and master limits. */
export interface BurstSetting {
  name: string;
  plan: BurstPlan;
  env: Record<string, string>;
  masterLimits: { maxRequestBytes?: number; maxContainers?: number };
}

const LABELLED = { 'dockflare.enable': 'true', 'dockflare.hostname': 'burst.example.com' };
const LEGACY = { 'cloudflare.tunnel.enable': 'true', 'cloudflare.tunnel.hostname': 'legacy.example.com' };
const DISABLED = { 'dockflare.enable': 'false', 'dockflare.hostname': 'never.example.com' };
const COUNTS: BurstPlan = { labelled: 46, legacy: 6, disabled: 4 };
export const SLOW_MASTER_MS = 20;
/** From the agent's first status report to the burst. */
const AGENT_SETTLE_MS = 5000;
const CREATE_CHUNK = 25;

/** One pass's figures: the subject's (agent's or floor's) delivery and latency, the bare subscriber's latency. */
type Pass = PassFigures & { timedOut: boolean };

/** Runs `fn` with the subject's master once the subject is ready for a burst. */
type Subject = (fn: (master: TestMaster) => Promise<Pass>) => Promise<Pass>;

/** The agent as the subject: spawned with the setting, subscribed, its start-up report delivered. */
function agentSubject(ctx: BenchContext, name: string, masterDelayMs: number, setting: BurstSetting): Subject {
  return (fn) =>
    withAgent(
      ctx,
      name,
      setting.env,
      async (s) => {
        if (masterDelayMs > 0)
          s.master.addFault({ fault: { kind: 'slow', delayMs: masterDelayMs }, endpoint: 'events' });
        if (!(await subscribed(s, ctx.deadline.bound(20_000))))
          throw new Error('the agent did not subscribe to Docker events within 20 s');
        // The start-up (its reports, hundreds of containers at scale) is not part of the burst: a stack comes up on
        // an agent that has been running for a while.
        const report = await masterWait(
          s.master,
          (r) => r.endpoint === 'events' && bodyType(r) === 'status_report' && r.status < 300,
          ctx.deadline.bound(20_000),
        );
        if (!report) throw new Error('the agent sent no status report within 20 s');
        await pause(ctx.deadline.bound(AGENT_SETTLE_MS));
        return fn(s.master);
      },
      setting.masterLimits,
    );
}

/** The protocol floor as the subject: the serial poster with its own master, in a pass of its own. */
function floorSubject(ctx: BenchContext, masterDelayMs: number, setting: BurstSetting): Subject {
  return async (fn) => {
    const floor = await protocolFloor(ctx.deadline.bound(10_000), masterDelayMs, setting.masterLimits);
    try {
      await pause(ctx.deadline.bound(AGENT_SETTLE_MS));
      return await fn(floor.master);
    } finally {
      await floor.stop();
    }
  };
}

/** One pass: the containers started in parallel, then stopped in parallel, while the subject reports them. */
async function burstPass(ctx: BenchContext, made: Made[], name: string, subject: Subject): Promise<Pass> {
  let rec: EventRecorder | undefined;
  let load: LoadWorker | undefined;
  let bare: Awaited<ReturnType<typeof bareSubscriber>> | undefined;
  try {
    rec = await EventRecorder.start(ctx.docker);
    load = await LoadWorker.start();
    bare = await bareSubscriber(ctx.deadline.bound(10_000));
    const [events, worker, seen] = [rec, load, bare.seen];
    return await subject(async (master) => {
      const managed = made.filter((c) => c.managed);
      const accepted = (type: 'container_start' | 'container_stop'): number => {
        const got = acceptedByContainer(master, type);
        return managed.filter((c) => got.has(c.id)).length;
      };
      const ids = made.map((c) => c.id);
      const boundMs = ctx.deadline.bound(30_000 + managed.length * 2 * SLOW_MASTER_MS);
      await worker.run('start', ids);
      const started = await waitUntil(() => accepted('container_start') === managed.length, boundMs, 20);
      await worker.run('stop', ids);
      const stopped = await waitUntil(() => accepted('container_stop') === managed.length, boundMs, 20);
      // A late duplicate (a retry after an accepted event) would arrive in this pause.
      await new Promise((r) => setTimeout(r, ctx.deadline.bound(1500)));
      say(
        `${name}: ${accepted('container_start')}/${managed.length} starts, ${accepted('container_stop')}/${managed.length} stops`,
      );
      return { ...measure(made, master, events, seen), timedOut: started === null || stopped === null };
    });
  } finally {
    bare?.stop();
    load?.close();
    rec?.close();
  }
}

/** The agent's pass, then the protocol floor's pass with the same containers and the same master delay. */
async function burstRun(
  ctx: BenchContext,
  made: Made[],
  masterDelayMs: number,
  setting: BurstSetting,
): Promise<BurstRun> {
  const name = `${setting.name}-${masterDelayMs}ms`;
  const agent = await burstPass(ctx, made, name, agentSubject(ctx, name, masterDelayMs, setting));
  ctx.deadline.check(`the protocol floor of ${name}`);
  const floor = await burstPass(ctx, made, `${name} protocol floor`, floorSubject(ctx, masterDelayMs, setting));
  return {
    masterDelayMs,
    labelled: made.filter((c) => c.managed).length,
    ...agent,
    floor: floor.agent,
    floorBare: floor.bare,
    floorDelivery: floor.delivery,
    floorTimedOut: floor.timedOut,
  };
}

/** Creates the plan's containers (before any agent runs: create work must not blur the timing), runs both bursts. */
export async function burstPair(ctx: BenchContext, setting: BurstSetting): Promise<BurstPairResult> {
  const kinds = [
    ...Array.from({ length: setting.plan.labelled }, () => ({ labels: LABELLED, managed: true })),
    ...Array.from({ length: setting.plan.legacy }, () => ({ labels: LEGACY, managed: true })),
    ...Array.from({ length: setting.plan.disabled }, () => ({ labels: DISABLED, managed: false })),
  ];
  const made: Made[] = [];
  try {
    for (let i = 0; i < kinds.length; i += CREATE_CHUNK) {
      const chunk = kinds.slice(i, i + CREATE_CHUNK);
      const batch = await Promise.all(
        chunk.map(async (k) => ({
          ...(await createContainer(ctx.docker, k.labels, 'dfa-bench-burst')),
          managed: k.managed,
        })),
      );
      made.push(...batch);
    }
    const fast = await burstRun(ctx, made, 0, setting);
    ctx.deadline.check(`the ${setting.name} against a slow master`);
    const slow = await burstRun(ctx, made, SLOW_MASTER_MS, setting);
    return { fast, slow };
  } finally {
    await Promise.all(made.map((c) => removeForce(ctx.docker, c.id).catch(() => undefined)));
  }
}

export async function burstScenario(ctx: BenchContext): Promise<BurstResult> {
  const pair = await burstPair(ctx, { name: 'burst', plan: COUNTS, env: {}, masterLimits: {} });
  return {
    settings: `agent defaults; ${COUNTS.labelled} dockflare.enable=true + ${COUNTS.legacy} cloudflare.tunnel.enable=true + ${COUNTS.disabled} dockflare.enable=false containers started in parallel, then stopped in parallel, from a load-generator process; controls: a bare subscriber process (bench/bare-subscriber.mjs) and a serial poster with its own test master (bench/bare-poster.mjs), both with the agent's node flags`,
    ...pair,
  };
}
