/**
 * What a run's log says about the host: per actor crashes (chaos kills apart from real ones), restarts, mean time
 * between failures, restart latency and time spent backing off, dropped messages; for the host, escalations,
 * process crashes, master outages and contact gaps, tunnel container restarts and their causes; then a verdict.
 */
import type { LogRecord, Run } from './parse.js';
import { dockerReasons, reviewDocker, type DockerReview } from './docker-facts.js';

export interface ActorReview {
  crashes: number;
  chaosKills: number;
  realCrashes: number;
  restarts: number;
  mtbfSeconds: number | null;
  restartLatencyMs: { mean: number | null; max: number | null };
  backingOffMs: number;
  droppedMessages: number;
  lastCrash: { at: string; reason: string } | null;
}

export interface Span {
  from: number;
  to: number | null;
  kind: string;
}

export interface RunReview {
  run: number;
  pid: number | null;
  from: string;
  to: string;
  durationSeconds: number;
  actors: Record<string, ActorReview>;
  escalations: number;
  processCrashes: number;
  exitCode: number | null;
  masterOutages: { count: number; totalSeconds: number; longestSeconds: number };
  maxContactGapSeconds: number | null;
  tunnelRestarts: { count: number; causes: Record<string, number> };
  /** Mode, Swarm services and the tunnel service, the decommission: docker-facts.ts. */
  docker: DockerReview;
  verdict: 'healthy' | 'degraded' | 'unhealthy';
  reasons: string[];
  /** For the HTML timeline. */
  timeline: {
    crashes: { actor: string; at: number; chaos: boolean }[];
    backoffs: (Span & { actor: string })[];
    outages: Span[];
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Crashes (each followed by a restart) the log does not show: the repeats of a crash loop logged at debug. */
function countHidden(a: ActorReview, missing: number): void {
  if (missing <= 0) return;
  a.crashes += missing;
  a.realCrashes += missing;
  a.restarts += missing;
}

function emptyActor(): ActorReview {
  return {
    crashes: 0,
    chaosKills: 0,
    realCrashes: 0,
    restarts: 0,
    mtbfSeconds: null,
    restartLatencyMs: { mean: null, max: null },
    backingOffMs: 0,
    droppedMessages: 0,
    lastCrash: null,
  };
}

/** Failure streaks of one master endpoint: first failure → recovery record (or the end of the run). */
function outages(records: readonly LogRecord[], end: number): Span[] {
  const pairs: [string, string][] = [
    ['commands_failed', 'commands_recovered'],
    ['event_send_failed', 'events_recovered'],
    ['registration_failed', 'registered'],
  ];
  const spans: Span[] = [];
  for (const [fail, recover] of pairs) {
    let open: number | null = null;
    for (const r of records) {
      if (r.event === fail && open === null) open = r.time;
      if (r.event === recover && open !== null) {
        spans.push({ from: open, to: r.time, kind: fail });
        open = null;
      }
    }
    if (open !== null) spans.push({ from: open, to: null, kind: fail });
  }
  // Overlapping streaks of different endpoints are one outage.
  spans.sort((a, b) => a.from - b.from);
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged.at(-1);
    if (last && s.from <= (last.to ?? end))
      last.to = last.to === null || s.to === null ? null : Math.max(last.to, s.to);
    else merged.push({ from: s.from, to: s.to, kind: 'master' });
  }
  return merged;
}

export function reviewRun(run: Run): RunReview {
  const actors: Record<string, ActorReview> = {};
  const actor = (name: string): ActorReview => (actors[name] ??= emptyActor());
  const crashTimes: Record<string, number[]> = {};
  const pendingCrash = new Map<string, number>();
  /** Crash records seen of the actor's current crash loop; its repeats are logged at debug and may be missing. */
  const loopSeen = new Map<string, number>();
  /** restartsTotal per actor from the latest `health` record: the agent's own count, hidden repeats included. */
  const reportedRestarts = new Map<string, number>();
  const latencies: Record<string, number[]> = {};
  const timeline: RunReview['timeline'] = { crashes: [], backoffs: [], outages: [] };
  let escalations = 0;
  let processCrashes = 0;
  let exitCode: number | null = null;
  let maxContactGap: number | null = null;
  const tunnel = { count: 0, causes: {} as Record<string, number> };
  for (const r of run.records) {
    const f = r.fields;
    switch (r.event) {
      case 'actor_crashed': {
        const name = str(f.actor);
        const a = actor(name);
        const chaos = str((f.err as { name?: unknown } | undefined)?.name) === 'InjectedCrash';
        a.crashes++;
        if (chaos) a.chaosKills++;
        else a.realCrashes++;
        loopSeen.set(name, num(f.repeats) === null ? 1 : (loopSeen.get(name) ?? 0) + 1);
        a.lastCrash = {
          at: new Date(r.time).toISOString(),
          reason: str((f.err as { message?: unknown } | undefined)?.message),
        };
        (crashTimes[name] ??= []).push(r.time);
        pendingCrash.set(name, r.time);
        timeline.crashes.push({ actor: name, at: r.time, chaos });
        break;
      }
      case 'actor_started': {
        const name = str(f.child);
        if ((num(f.gen) ?? 1) > 1) {
          actor(name).restarts++;
          const crashedAt = pendingCrash.get(name);
          if (crashedAt !== undefined) {
            (latencies[name] ??= []).push(r.time - crashedAt);
            timeline.backoffs.push({ actor: name, from: crashedAt, to: r.time, kind: 'backoff' });
            pendingCrash.delete(name);
          }
        } else actor(name);
        break;
      }
      case 'actor_recovered': {
        // The loop's total comes with the recovery: count the repeats a log at info level did not show.
        const name = str(f.child);
        countHidden(actor(name), (num(f.crashes) ?? 0) - (loopSeen.get(name) ?? 0));
        loopSeen.delete(name);
        break;
      }
      case 'messages_dropped':
        actor(str(f.actor)).droppedMessages += num(f.count) ?? 0;
        break;
      case 'intensity_exceeded':
        escalations++;
        break;
      case 'process_crash':
        processCrashes++;
        break;
      case 'agent_fatal':
        exitCode = num(f.exitCode);
        break;
      case 'shutdown_complete':
        exitCode = num(f.exitCode);
        break;
      case 'tunnel_started': {
        const cause = str(f.cause) || 'unknown';
        tunnel.count++;
        tunnel.causes[cause] = (tunnel.causes[cause] ?? 0) + 1;
        break;
      }
      case 'health': {
        const last = num(f.masterLastSuccessAt);
        if (last !== null) maxContactGap = Math.max(maxContactGap ?? 0, (r.time - last) / 1000);
        const cells = f.actors;
        if (cells !== null && typeof cells === 'object') {
          for (const [name, cell] of Object.entries(cells as Record<string, unknown>)) {
            const total = num((cell as { restartsTotal?: unknown } | null)?.restartsTotal);
            if (total !== null) reportedRestarts.set(name, total);
          }
        }
        break;
      }
      case null:
      default:
        break;
    }
  }
  // Repeats of a crash loop that ended without actor_recovered (an escalation, a different error, the end of the
  // run) are in the agent's own restart count only: take the larger.
  for (const [name, total] of reportedRestarts) {
    const a = actor(name);
    countHidden(a, total - a.restarts);
  }
  for (const [name, since] of pendingCrash)
    timeline.backoffs.push({ actor: name, from: since, to: null, kind: 'backoff' });
  const durationSeconds = Math.max(0, (run.end - run.start) / 1000);
  for (const [name, a] of Object.entries(actors)) {
    const l = latencies[name] ?? [];
    a.restartLatencyMs = {
      mean: l.length ? Math.round(l.reduce((s, x) => s + x, 0) / l.length) : null,
      max: l.length ? Math.max(...l) : null,
    };
    const open = pendingCrash.get(name);
    a.backingOffMs = l.reduce((s, x) => s + x, 0) + (open !== undefined ? run.end - open : 0);
    a.mtbfSeconds = a.realCrashes > 0 ? Math.round(durationSeconds / a.realCrashes) : null;
  }
  timeline.outages = outages(run.records, run.end);
  const outageSecs = timeline.outages.map((s) => ((s.to ?? run.end) - s.from) / 1000);
  const review: RunReview = {
    run: run.index,
    pid: run.pid,
    from: new Date(run.start).toISOString(),
    to: new Date(run.end).toISOString(),
    durationSeconds,
    actors,
    escalations,
    processCrashes,
    exitCode,
    masterOutages: {
      count: outageSecs.length,
      totalSeconds: Math.round(outageSecs.reduce((s, x) => s + x, 0)),
      longestSeconds: Math.round(Math.max(0, ...outageSecs)),
    },
    maxContactGapSeconds: maxContactGap === null ? null : Math.round(maxContactGap),
    tunnelRestarts: tunnel,
    docker: reviewDocker(run.records),
    verdict: 'healthy',
    reasons: [],
    timeline,
  };
  return judge(review);
}

function judge(r: RunReview): RunReview {
  const bad: string[] = [];
  const meh: string[] = [];
  if (r.escalations > 0) bad.push(`${r.escalations} restart-intensity escalation(s)`);
  if (r.processCrashes > 0) bad.push(`${r.processCrashes} process crash(es) outside the supervision tree`);
  if (r.exitCode !== null && r.exitCode !== 0) bad.push(`ended with exit code ${r.exitCode}`);
  const open = r.timeline.outages.find((o) => o.to === null);
  if (open) bad.push('master unreachable at the end of the log');
  for (const [name, a] of Object.entries(r.actors)) {
    if (a.realCrashes > 0) meh.push(`${name}: ${a.realCrashes} crash(es) not caused by chaos`);
    if (a.droppedMessages > 0) meh.push(`${name}: ${a.droppedMessages} message(s) dropped`);
  }
  if (r.masterOutages.count > 0 && !open)
    meh.push(`${r.masterOutages.count} master outage(s), ${r.masterOutages.totalSeconds} s in all`);
  const [dockerBad, dockerMeh] = dockerReasons(r.docker);
  bad.push(...dockerBad);
  meh.push(...dockerMeh);
  r.reasons = [...bad, ...meh];
  r.verdict = bad.length > 0 ? 'unhealthy' : meh.length > 0 ? 'degraded' : 'healthy';
  return r;
}
