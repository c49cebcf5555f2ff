/**
 * The Reporter's steps, shared by its handlers: publishing the outbox's counts, the next send (a heartbeat or the
 * outbox's head, one number out at a time), a status report, and its two reactions to a refusal.
 */
import type { DockerPort } from '../../docker/port.js';
import { loudOnce } from '../../log/loud-once.js';
import type { MasterClient } from '../../master/client.js';
import { buildEventBody, buildHeartbeat, masterTimestamp } from '../../master/envelope.js';
import { registrationRequired, type RegistrationMsg } from '../../messages/registration.js';
import type { Identity } from '../../domain/identity.js';
import { reporterPersist, type ReporterMsg } from '../../messages/reporter.js';
import type { Outbox } from '../../persistence/outbox.js';
import { tell, type ActorRef } from '../../supervisor/actor-ref.js';
import type { ActorContext } from '../../supervisor/child-spec.js';
import type { SinceScan } from './report-patch.js';
import type { StatusBoard } from '../../domain/status-board.js';
import type { LifecycleView } from '../../domain/lifecycle.js';
import type { InventoryView } from './inventory-view.js';
import type { Scan } from '../../domain/outbound.js';

export interface ReporterDeps {
  client: MasterClient;
  /** Only the inventory: in Swarm mode, services plus the containers that are not tasks. */
  docker: Pick<DockerPort, 'listManagedContainers'>;
  outbox: Outbox;
  registration: ActorRef<RegistrationMsg>;
  board: StatusBoard;
  /** The compact health summary for heartbeats, or undefined when switched off. */
  healthSummary: () => Record<string, unknown> | undefined;
  reportIntervalMs: number;
  /** Least time between two heartbeats; each goes with a report tick (the master's last_seen needs no more). */
  heartbeatIntervalMs: number;
  retryCapMs: number;
  /** Decommissioning: nothing is reported, no heartbeat, event or inventory (docs/protocol.md §13.11). */
  lifecycle: LifecycleView;
  random: () => number;
  /** A report's inventory from events between Docker scans (inventory-view.ts); false in Swarm mode. */
  inventoryFromEvents: boolean;
  /** How long a baseline serves; INVENTORY_RESCAN_MS by default. */
  inventoryRescanMs?: number;
}

export interface ReporterState {
  identity: Identity | null;
  /** A failed report's number, reused by the next report (a 503 rolls the master's counter back). */
  reportSeqRetry: number | null;
  sending: boolean;
  reporting: boolean;
  reportAgain: boolean;
  heartbeat: { seq: number | null } | null;
  /** When the last heartbeat was queued (monotonic ms), null before the first. */
  heartbeatAt: number | null;
  failures: number;
  waitingForIdentity: boolean;
  forceReport: boolean;
  /**
   * The last kind of rejection logged loudly, for events and for status reports apart: a persisting one (a revoked
   * key, a report too large for the master) is logged once, then at debug, until one of its own class is delivered.
   * (A shared slot let every accepted heartbeat re-arm a report rejection: one error line per report cycle.)
   */
  lastReject: { readonly event: string | null; readonly report: string | null };
  /** Why the last container scan failed (Docker unreachable), null after a good one: logged once, then at debug. */
  scanFailure: string | null;
  /** The outbox overflowed and no event has been delivered since: further drops are not news (debug). */
  overflowing: boolean;
  /** Events handed over since the running scan started (report-patch.ts); null while no scan runs. */
  sinceScan: SinceScan | null;
  /** A status report is out: no event is sent until it is answered, so none overtakes it. */
  reportOut: boolean;
  /**
   * Why nothing is reported any more (a decommission, by our tombstone or by the master's 409), or null. Said once;
   * events are dropped from then on: the master refuses them and forgets the agent at the end.
   */
  silentWhy: string | null;
  /** The session whose change of master protocol was already acted on: asked once per session. */
  protocolAsked: string | null;
}

export type Ctx = ActorContext<ReporterMsg, ReporterMemory>;

/**
 * What the Reporter's incarnations hand on: the event request still out. A killed incarnation's request runs on
 * (it is not aborted: the master may already be storing it), and the next incarnation waits for its reply and
 * handles it as its own, instead of sending the same event again.
 */
export interface ReporterMemory {
  inFlight: { readonly reply: Promise<ReporterMsg> } | null;
  /** The inventory from events (inventory-view.ts): kept across incarnations, as the watcher's stream is. */
  view: InventoryView;
}
export const FIRST_RETRY_MS = 1000;
export const PERSIST_DELAY_MS = 250;

export type ReporterSteps = ReturnType<typeof reporterSteps>;

export function reporterSteps(deps: ReporterDeps) {
  const { outbox } = deps;
  const publish = (): void => {
    deps.board.publish('outbox', { queued: outbox.size, dropped: outbox.dropped });
  };
  // A timer only when there is something to write: each idle heartbeat used to wake the agent 250 ms later for nothing.
  const persistSoon = (ctx: Ctx): void => {
    if (outbox.needsWrite && !ctx.timers.has('persist'))
      ctx.timers.once('persist', PERSIST_DELAY_MS, reporterPersist());
  };

  /** One event request, carried until its reply is handled (by this incarnation or the next). */
  const send = (ctx: Ctx, agentId: string, body: Record<string, unknown>, entryId: string | null): void => {
    const reply = deps.client.postEvent(agentId, body).then(
      (result): ReporterMsg => ({
        type: 'reporter.event-sent',
        entryId,
        result,
        bytes: result.ok ? 0 : JSON.stringify(body).length,
      }),
      (err: unknown): ReporterMsg => ({
        type: 'reporter.event-sent',
        entryId,
        result: { ok: false, failure: { kind: 'transient', status: null, retryAfterMs: null, reason: String(err) } },
        bytes: 0,
      }),
    );
    ctx.carried.inFlight = { reply };
    ctx.pipe(reply, (msg) => msg);
  };

  /**
   * A heartbeat joins this tick when HEARTBEAT_INTERVAL has passed, less half a report period for the jitter of the
   * ticks: with the two periods equal every tick has one (the protocol's pair), with reports every 5 s every sixth.
   * Its only master effect is last_seen, which every accepted report refreshes as well (docs/protocol.md §5.3).
   */
  const heartbeatIfDue = (s: ReporterState, ctx: Ctx): ReporterState => {
    if (s.heartbeat) return s;
    const now = ctx.clock.monotonic();
    if (s.heartbeatAt !== null && now - s.heartbeatAt < deps.heartbeatIntervalMs - deps.reportIntervalMs / 2) return s;
    return { ...s, heartbeat: { seq: null }, heartbeatAt: now };
  };

  const silent = (s: ReporterState): boolean => s.silentWhy !== null || deps.lifecycle.lifecycle !== 'enrolled';
  /** Nothing more is reported (docs/protocol.md §13.11); one info line says why, the first time. */
  const goSilent = (s: ReporterState, ctx: Ctx, why: string): ReporterState => {
    if (s.silentWhy === null)
      ctx.log.info(
        { event: 'reporting_stopped', why, queued: outbox.size },
        'decommissioning: nothing more is reported',
      );
    return { ...s, silentWhy: s.silentWhy ?? why };
  };

  const pump = (s: ReporterState, ctx: Ctx): ReporterState => {
    const identity = s.identity;
    if (silent(s)) return s;
    if (!identity || s.sending || s.reportOut || s.waitingForIdentity || ctx.timers.has('retry')) return s;
    const now = ctx.clock.now();
    const session = identity.sessionId ?? 'v1';
    // One number may be out at a time and it is retried before any new one is issued: a later number landing
    // first would make the earlier one stale (docs/protocol.md §5.1).
    if (s.heartbeat && (s.heartbeat.seq !== null || !outbox.headHoldsNumber(session))) {
      const seq = outbox.nextEventNumber(session, s.heartbeat.seq);
      const body = buildHeartbeat(identity, seq, masterTimestamp(now), deps.healthSummary());
      send(ctx, identity.agentId, body, null);
      return { ...s, sending: true, heartbeat: { seq } };
    }
    const head = outbox.head();
    const seq = outbox.numberHead(session);
    if (!head || seq === undefined) return s;
    const body = buildEventBody(identity, head.event, seq);
    send(ctx, identity.agentId, body, head.id);
    return { ...s, sending: true };
  };

  const startReport = (s: ReporterState, ctx: Ctx): ReporterState => {
    if (!s.identity || s.waitingForIdentity || silent(s)) return s;
    if (s.reporting) return { ...s, reportAgain: true };
    const view = ctx.carried.view;
    const known = view.current(ctx.clock.monotonic());
    if (known !== null) {
      ctx.toSelf({ type: 'reporter.scanned', scan: { ok: true, containers: known }, source: 'view', ticket: null });
    } else {
      const ticket = view.ticket;
      ctx.pipe(
        deps.docker.listManagedContainers(ctx.signal),
        (containers) => ({ type: 'reporter.scanned', scan: { ok: true, containers }, source: 'docker', ticket }),
        (err) => ({
          type: 'reporter.scanned',
          scan: { ok: false, reason: err instanceof Error ? err.message : String(err) },
          source: 'docker',
          ticket: null,
        }),
      );
    }
    return { ...s, reporting: true, reportAgain: false, sinceScan: new Map() };
  };

  /** The first rejection of a kind at its level, repeats at debug, until something is delivered again. */
  const noteReject = (
    s: ReporterState,
    ctx: Ctx,
    slot: 'event' | 'report',
    level: 'info' | 'warn' | 'error',
    fields: Record<string, unknown>,
    text: string,
  ): ReporterState => {
    const kind = `${String(fields.event)}:${String(fields.reason)}`;
    const loud = loudOnce(ctx.log, s.lastReject[slot], kind, level, fields, text);
    return { ...s, lastReject: { ...s.lastReject, [slot]: loud } };
  };

  /**
   * The master refused this session (or record): it refuses the next event for the same reason. The queue holds,
   * heartbeats included, until Registration brings a new session (it may wait up to a minute between
   * re-registrations), instead of numbering and losing one queued event after another meanwhile.
   */
  const needRegistration = (s: ReporterState, cause: Parameters<typeof registrationRequired>[0]): ReporterState => {
    if (!s.identity) return s;
    tell(deps.registration, registrationRequired(cause, s.identity));
    return { ...s, waitingForIdentity: true };
  };

  /**
   * The master changed under a running session (docs/protocol.md §3.4): a v1 session's replies that carry v2's `code`
   * mean an upgraded master, a v2 session's replies without it a downgraded one. One re-registration per session
   * negotiates again; the pacer keeps a master that keeps flipping from causing a storm.
   */
  const noteProtocol = (s: ReporterState, ctx: Ctx, code: string | null): ReporterState => {
    const id = s.identity;
    const key = id === null ? null : `${id.agentId}/${id.sessionId ?? 'v1'}`;
    if (id === null || s.protocolAsked === key) return s;
    if (id.protocolVersion === 1 ? code === null : code !== null) return s;
    const cause = id.protocolVersion === 1 ? 'protocol_upgrade' : 'protocol_downgrade';
    ctx.log.info({ event: 'master_protocol_changed', cause, protocolVersion: id.protocolVersion }, 'registering again');
    tell(deps.registration, registrationRequired(cause, id));
    return { ...s, protocolAsked: key };
  };

  /** A failed scan is said once (then at debug), a recovery once. */
  const noteScan = (s: ReporterState, ctx: Ctx, scan: Scan): ReporterState => {
    if (!scan.ok) {
      const fields = { event: 'inventory_failed', reason: scan.reason };
      loudOnce(ctx.log, s.scanFailure, scan.reason, 'warn', fields, 'container scan failed');
      return { ...s, scanFailure: scan.reason };
    }
    if (s.scanFailure === null) return s;
    ctx.log.info({ event: 'inventory_recovered', lastFailure: s.scanFailure }, 'container scan works again');
    return { ...s, scanFailure: null };
  };

  return {
    publish,
    persistSoon,
    pump,
    startReport,
    heartbeatIfDue,
    noteReject,
    needRegistration,
    silent,
    goSilent,
    noteProtocol,
    noteScan,
  };
}

/** A new incarnation's state; `sending` when an earlier incarnation left a request out. */
export function initialState(sending: boolean): ReporterState {
  return {
    identity: null,
    reportSeqRetry: null,
    sending,
    reporting: false,
    reportAgain: false,
    heartbeat: null,
    heartbeatAt: null,
    failures: 0,
    waitingForIdentity: false,
    forceReport: false,
    lastReject: { event: null, report: null },
    scanFailure: null,
    overflowing: false,
    sinceScan: null,
    reportOut: false,
    silentWhy: null,
    protocolAsked: null,
  };
}

/** The master refused a send because it is decommissioning this agent. */
export const refusedAsDecommissioning = (msg: ReporterMsg & { type: 'reporter.event-sent' | 'reporter.report-sent' }) =>
  !msg.result.ok && msg.result.failure.kind === 'decommissioning';

/**
 * The outbox's part of a shutdown, run by the tree after the actors have stopped, whether or not the Reporter was
 * running: events stashed for it while it backed off go into the outbox, and the outbox is written, so that what
 * the next run must send survives (a crashed Reporter's pending write died with it).
 */
export async function keepUndelivered(outbox: Outbox, stashed: readonly ReporterMsg[]): Promise<void> {
  for (const msg of stashed) if (msg.type === 'reporter.enqueue') outbox.push(msg.event);
  await outbox.persist();
}
