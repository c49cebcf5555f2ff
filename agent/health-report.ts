/**
 * What /health answers (docs/protocol.md §12, extended with the supervision tree) and what /metrics exposes.
 * healthy (200): registered, master contact within 120 s, tunnel in its desired state, no actor failed, restarting
 * at its maximum backoff or in a crash loop (running between crashes, as often as not, so its status alone would
 * let /health flap between 200 and 503). degraded (503): contact within 300 s but one of those is not true.
 * unhealthy (503): no contact for 300 s or never.
 */
import type { HealthSnapshot } from '../supervisor/health.js';
import type { StatusFacts } from '../domain/status-board.js';
import type { Lifecycle } from '../domain/lifecycle.js';

/** Without master contact this long /health stops saying healthy (HEALTH_MASTER_CONTACT_SECONDS by default). */
export const HEALTHY_CONTACT_MS = 120_000;
/** ...and says unhealthy after this many times that. */
export const UNHEALTHY_CONTACT_FACTOR = 2.5;
/** This many crashes in a row with the same error, with no stable run between, make the agent degraded. */
export const CRASH_LOOP_DEGRADED = 3;

export interface HealthInputs {
  snapshot: HealthSnapshot;
  facts: Readonly<StatusFacts>;
  /** Wall time of the last successful contact, for display. */
  masterLastSuccessAt: number | null;
  /** Its age on the monotonic clock: what health is judged by. */
  masterContactAgeMs: number | null;
  lifecycle: Lifecycle;
  /** HEALTH_MASTER_CONTACT_SECONDS in ms; HEALTHY_CONTACT_MS when not given. */
  contactMs?: number;
}

export interface HealthReport {
  httpStatus: 200 | 503;
  body: Record<string, unknown>;
}

const THREADS: Record<string, string> = {
  command_poller: 'command-poller',
  reporter: 'reporter',
  event_watcher: 'event-watcher',
  tunnel_monitor: 'tunnel-keeper',
  registration: 'registration',
};

/** What is wrong with the actors themselves: failed for good, at their maximum backoff, or in a crash loop. */
export function actorProblems(snapshot: HealthSnapshot): string[] {
  const problems: string[] = [];
  for (const [name, a] of Object.entries(snapshot.actors)) {
    if (a.status === 'failed') problems.push(`${name} failed and is not restarted`);
    if (a.status === 'backing_off' && a.backoffMs !== null && a.maxBackoffMs !== null && a.backoffMs >= a.maxBackoffMs)
      problems.push(`${name} keeps crashing (backoff at its maximum)`);
    else if (a.crashLoop !== null && a.crashLoop.crashes >= CRASH_LOOP_DEGRADED)
      problems.push(`${name} is in a crash loop (${a.crashLoop.crashes} crashes in a row with the same error)`);
  }
  return problems;
}

/**
 * Liveness, for the image's HEALTHCHECK and an orchestrator's restart decision: alive while the process answers and
 * no actor is failed or in a crash loop, whatever the master does. Restarting the agent cannot bring a master back,
 * and its shutdown would remove a working tunnel: readiness (healthReport) is for people and monitoring.
 */
export function livenessReport(snapshot: HealthSnapshot): HealthReport {
  const reasons = actorProblems(snapshot);
  return {
    httpStatus: reasons.length === 0 ? 200 : 503,
    body: { status: reasons.length === 0 ? 'alive' : 'stuck', reasons },
  };
}

export function healthReport(input: HealthInputs): HealthReport {
  const { snapshot, facts } = input;
  const last = input.masterLastSuccessAt;
  const age = input.masterContactAgeMs;
  const contactMs = input.contactMs ?? HEALTHY_CONTACT_MS;
  const reasons: string[] = [];
  if (!facts.registration.registered) reasons.push('not registered with the master');
  if (age === null) reasons.push('no successful contact with the master yet');
  else if (age >= contactMs) reasons.push(`no master contact for ${Math.round(age / 1000)} s`);
  if (facts.tunnel.desiredState === 'running' && !facts.tunnel.containerRunning)
    reasons.push('tunnel should run but its container is not running');
  if (facts.tunnel.desiredState === 'stopped' && facts.tunnel.containerRunning)
    reasons.push('tunnel should be stopped but its container runs');
  reasons.push(...actorProblems(snapshot));
  const serving =
    age === null || age >= contactMs * UNHEALTHY_CONTACT_FACTOR
      ? 'unhealthy'
      : reasons.length === 0
        ? 'healthy'
        : 'degraded';
  // Being removed is the state the operator asked for, not a fault: 200 whatever the tunnel and the master do.
  const status = input.lifecycle === 'enrolled' ? serving : input.lifecycle;
  const threads = Object.fromEntries(
    Object.entries(THREADS).map(([k, actor]) => [
      k,
      snapshot.actors[actor]?.status === 'running' ? 'running' : (snapshot.actors[actor]?.status ?? 'absent'),
    ]),
  );
  return {
    httpStatus: status === 'healthy' || input.lifecycle !== 'enrolled' ? 200 : 503,
    body: {
      status,
      lifecycle: input.lifecycle,
      reasons,
      agent_id: facts.registration.agentId,
      registered: facts.registration.registered,
      enrollment: facts.registration.enrollment,
      protocol_version: facts.registration.protocolVersion,
      tunnel: {
        state: facts.tunnel.desiredState,
        name: facts.tunnel.name,
        id: facts.tunnel.id,
        container_running: facts.tunnel.containerRunning,
        version: facts.tunnel.version,
      },
      master_connection: {
        url: facts.master.url,
        last_successful_report: last === null ? null : new Date(last).toISOString().replace('Z', '+00:00'),
        seconds_since_contact: age === null ? null : Math.round(age / 1000),
      },
      docker: dockerFacts(facts.docker),
      threads,
      outbox: facts.outbox,
      supervision: snapshot,
    },
  };
}

/** The mode, and in Swarm mode what it serves: a standalone host's body stays as it was. */
function dockerFacts(d: StatusFacts['docker']): Record<string, unknown> {
  if (d.mode === 'standalone') return { mode: d.mode };
  return { mode: d.mode, services_served: d.servicesServed, tunnel_replicas: d.tunnelReplicas };
}

/** What /health answers when the agent started decommissioned and runs nothing else. */
export function decommissionedReport(tombstone: string): HealthReport {
  return {
    httpStatus: 200,
    body: { status: 'decommissioned', lifecycle: 'decommissioned', reasons: [], tombstone },
  };
}

export interface MetricsInputs extends HealthInputs {
  master: { requests: number; failures: number; lastLatencyMs: number | null; latencySumMs: number };
}

/** Prometheus text exposition format 0.0.4. */
export function metricsText(input: MetricsInputs): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    samples: [Record<string, string>, number][],
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
        .join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 0}`);
    }
  };
  const actors = Object.entries(input.snapshot.actors);
  metric(
    'dockflare_agent_actor_up',
    'gauge',
    'Whether the actor is running (1) or not (0).',
    actors.map(([a, h]) => [{ actor: a }, h.status === 'running' ? 1 : 0]),
  );
  metric(
    'dockflare_agent_actor_restarts_total',
    'counter',
    'Restarts of the actor since the agent started.',
    actors.map(([a, h]) => [{ actor: a }, h.restartsTotal]),
  );
  metric(
    'dockflare_agent_actor_messages_dropped_total',
    'counter',
    'Messages to the actor that were dropped.',
    actors.map(([a, h]) => [{ actor: a }, h.dropped]),
  );
  metric('dockflare_agent_events_queued', 'gauge', 'Events waiting for the master.', [[{}, input.facts.outbox.queued]]);
  metric('dockflare_agent_events_delivered_total', 'counter', 'Events the master accepted.', [
    [{}, input.facts.outbox.delivered],
  ]);
  metric(
    'dockflare_agent_events_dropped_total',
    'counter',
    'Events dropped (outbox overflow or rejected by the master).',
    [[{}, input.facts.outbox.dropped]],
  );
  metric('dockflare_agent_master_requests_total', 'counter', 'Requests to the master.', [[{}, input.master.requests]]);
  metric('dockflare_agent_master_request_failures_total', 'counter', 'Master requests that failed.', [
    [{}, input.master.failures],
  ]);
  metric('dockflare_agent_master_request_seconds_total', 'counter', 'Total time spent in master requests.', [
    [{}, input.master.latencySumMs / 1000],
  ]);
  metric(
    'dockflare_agent_master_last_success_timestamp_seconds',
    'gauge',
    'Time of the last successful master contact.',
    [[{}, (input.masterLastSuccessAt ?? 0) / 1000]],
  );
  metric('dockflare_agent_tunnel_container_running', 'gauge', 'Whether the cloudflared container runs.', [
    [{}, input.facts.tunnel.containerRunning ? 1 : 0],
  ]);
  const d = input.facts.docker;
  if (d.mode === 'swarm') {
    metric('dockflare_agent_swarm_services_served', 'gauge', 'Labelled services the master was told run.', [
      [{}, d.servicesServed ?? 0],
    ]);
    metric('dockflare_agent_tunnel_replicas', 'gauge', "The tunnel service's tasks, running and desired.", [
      [{ state: 'running' }, d.tunnelReplicas?.running ?? 0],
      [{ state: 'desired' }, d.tunnelReplicas?.desired ?? 0],
    ]);
  }
  metric('dockflare_agent_tunnel_containers_started_total', 'counter', 'cloudflared containers the agent created.', [
    [{}, input.facts.tunnel.containersStarted],
  ]);
  return `${lines.join('\n')}\n`;
}

/**
 * The heartbeat's `health` field: the same snapshot, compact, well under the 2 KiB docs/protocol.md §5.3 asks for.
 * Per actor: [status, gen, restarts total, restarts in window, backoff ms or 0].
 */
export function compactHealth(
  snapshot: HealthSnapshot,
  facts: { masterContactAgeMs: number | null; outboxQueued: number; outboxDropped: number },
): Record<string, unknown> {
  const actors: Record<string, [string, number, number, number, number]> = {};
  for (const [name, a] of Object.entries(snapshot.actors))
    actors[name] = [a.status, a.gen, a.restartsTotal, a.restartsInWindow, a.backoffMs ?? 0];
  return {
    v: 1,
    uptime_s: Math.round(snapshot.uptimeMs / 1000),
    actors,
    master_contact_age_s: facts.masterContactAgeMs === null ? null : Math.round(facts.masterContactAgeMs / 1000),
    outbox: [facts.outboxQueued, facts.outboxDropped],
  };
}
