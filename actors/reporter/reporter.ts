/**
 * Reporter: everything the agent tells the master (docs/protocol.md §5). A status report every
 * REPORT_INTERVAL_SECONDS, with a heartbeat at most every HEARTBEAT_INTERVAL_SECONDS; container and tunnel events from
 * the durable outbox, in order, one request in flight per sequence counter, a retry keeping its number; the
 * reactions of reaction.ts to every reply.
 */
import { InventoryView } from './inventory-view.js';
import {
  FIRST_RETRY_MS,
  initialState,
  refusedAsDecommissioning,
  reporterSteps,
  type ReporterDeps,
  type ReporterMemory,
  type ReporterState,
} from './reporter-steps.js';
import { loudOnce } from '../../log/loud-once.js';
import { noteSinceScan, patchScan } from './report-patch.js';
import { buildStatusReport, masterTimestamp } from '../../master/envelope.js';
import { reactionTo } from '../../master/reaction.js';
import { describeFailure } from '../../domain/master-result.js';
import { failureDelay, jittered } from '../../supervisor/backoff.js';
import { registrationGet } from '../../messages/registration.js';
import { reporterPump, reporterTick, type ReporterMsg } from '../../messages/reporter.js';
import { tell } from '../../supervisor/actor-ref.js';
import type { ActorDef } from '../../supervisor/child-spec.js';

export function reporterDef(deps: ReporterDeps): ActorDef<ReporterState, ReporterMsg, ReporterMemory> {
  const { outbox } = deps;
  const steps = reporterSteps(deps);
  const { publish, persistSoon, pump, startReport, heartbeatIfDue, noteReject, needRegistration, silent, goSilent } =
    steps;

  return {
    carry: () => ({ inFlight: null, view: new InventoryView(deps.inventoryRescanMs, deps.inventoryFromEvents) }),

    init(ctx) {
      tell(deps.registration, registrationGet(ctx.self));
      ctx.timers.once('tick', jittered(deps.reportIntervalMs, deps.random()), reporterTick());
      publish();
      // A request an earlier incarnation left out: its reply is this incarnation's, and nothing is sent meanwhile.
      const inFlight = ctx.carried.inFlight;
      if (inFlight !== null) ctx.pipe(inFlight.reply, (msg) => msg);
      return initialState(inFlight !== null);
    },

    handlers: {
      'identity.changed'(state, msg, ctx) {
        const sameSession =
          state.identity?.agentId === msg.identity.agentId && state.identity.sessionId === msg.identity.sessionId;
        const next: ReporterState = sameSession
          ? { ...state, identity: msg.identity }
          : {
              ...state,
              identity: msg.identity,
              reportSeqRetry: null,
              waitingForIdentity: false,
              heartbeat: { seq: null },
              heartbeatAt: ctx.clock.monotonic(),
            };
        // A new session is announced at once: heartbeat, then the full inventory (docs/protocol.md §3.3 step 5).
        return pump(sameSession ? next : startReport(next, ctx), ctx);
      },

      'reporter.tick'(state, _msg, ctx) {
        ctx.timers.once('tick', jittered(deps.reportIntervalMs, deps.random()), reporterTick());
        return pump(startReport(heartbeatIfDue(state, ctx), ctx), ctx);
      },

      'reporter.enqueue'(current, msg, ctx) {
        ctx.carried.view.apply(msg.event);
        if (silent(current)) return goSilent(current, ctx, `lifecycle ${deps.lifecycle.lifecycle}`);
        const state = { ...current, sinceScan: noteSinceScan(current.sinceScan, msg.event) };
        const overflow = outbox.push(msg.event);
        if (overflow > 0) {
          // Once per episode: until an event is delivered again, every new event drops one more (debug).
          const fields = {
            event: 'outbox_overflow',
            dropped: overflow,
            droppedTotal: outbox.dropped,
            capacity: outbox.capacity,
          };
          loudOnce(ctx.log, state.overflowing ? 'overflow' : null, 'overflow', 'warn', fields, 'outbox full');
        }
        publish();
        const containerId = msg.event.type === 'tunnel_status' ? null : msg.event.container.id.slice(0, 12);
        ctx.log.debug(
          { event: 'event_queued', type: msg.event.type, containerId, queued: outbox.size },
          'event queued for the master',
        );
        // Written only while nothing is being delivered (the master failing, no session yet or one being replaced):
        // a burst against a healthy master needs no disk round trip, a queue that waits must survive a kill -9.
        if (ctx.timers.has('retry') || !state.identity || state.waitingForIdentity) persistSoon(ctx);
        return pump(overflow > 0 ? { ...state, forceReport: true, overflowing: true } : state, ctx);
      },

      'reporter.feed'(state, msg, ctx) {
        const view = ctx.carried.view;
        view.feed(msg.live);
        // The watcher's scan with the events it hands on from its subscription is a baseline (not in Swarm mode).
        if (msg.inventory !== null) view.adopt(view.ticket, msg.inventory, ctx.clock.monotonic());
        return state;
      },

      'reporter.report-now'(state, _msg, ctx) {
        return startReport(state, ctx);
      },

      'reporter.pump'(state, _msg, ctx) {
        return pump(state, ctx);
      },

      async 'reporter.persist'(state) {
        await outbox.persist();
        return state;
      },

      'reporter.scanned'(scanned, msg, ctx) {
        const current = { ...scanned, sinceScan: null };
        // A session being replaced gets no report: the new one gets the full inventory at once.
        if (current.waitingForIdentity) return { ...current, reporting: false };
        const scan = patchScan(msg.scan, scanned.sinceScan);
        if (scan.ok && msg.source === 'docker')
          ctx.carried.view.adopt(msg.ticket, scan.containers, ctx.clock.monotonic());
        // A decommission that began while the scan ran: nothing is reported from then on (docs/protocol.md §13.11).
        if (silent(current)) return { ...current, reporting: false };
        const state = steps.noteScan(current, ctx, msg.scan);
        const identity = state.identity;
        if (!identity) return { ...state, reporting: false };
        const seq = outbox.nextReportNumber(identity.sessionId ?? 'v1', state.reportSeqRetry);
        const body = buildStatusReport(identity, scan, seq, masterTimestamp(ctx.clock.now()));
        if (body === null) {
          ctx.log.warn(
            {
              event: 'status_report_skipped',
              protocolVersion: 1,
              why: 'a v1 master deletes every rule a report does not list',
            },
            'status report skipped: scan failed',
          );
          return { ...state, reporting: false };
        }
        const containers = scan.ok ? scan.containers.length : 0;
        ctx.pipe(deps.client.postEvent(identity.agentId, body, ctx.signal), (result) => ({
          type: 'reporter.report-sent',
          result,
          bytes: result.ok ? 0 : JSON.stringify(body).length,
          containers,
        }));
        return { ...state, reportSeqRetry: null, reportOut: true };
      },

      'reporter.report-sent'(state, msg, ctx) {
        let next: ReporterState = { ...state, reporting: false, reportOut: false };
        if (refusedAsDecommissioning(msg)) return goSilent(next, ctx, 'the master is decommissioning this agent');
        const reaction = reactionTo(msg.result);
        switch (reaction.kind) {
          case 'delivered':
            ctx.log.debug(
              { event: 'status_report_sent', containers: msg.containers, duplicate: reaction.duplicate },
              'status report delivered',
            );
            // A duplicate_sequence means the master kept an earlier report under this number (a reply lost after
            // it had processed it) and ignored this one: a report still owed after an overflow is still owed.
            next = {
              ...next,
              forceReport: reaction.duplicate ? next.forceReport : false,
              lastReject: { ...next.lastReject, report: null },
            };
            if (msg.result.ok) next = steps.noteProtocol(next, ctx, msg.result.value.code);
            break;
          case 'retry':
            next = { ...next, reportSeqRetry: outbox.lastReportNumber(state.identity?.sessionId ?? 'v1') };
            ctx.log.debug(
              { event: 'status_report_failed', reason: msg.result.ok ? null : describeFailure(msg.result.failure) },
              'status report failed; the next one follows',
            );
            break;
          case 'reregister_and_resend':
            next = needRegistration(next, reaction.cause);
            break;
          case 'drop':
            next = noteReject(
              next,
              ctx,
              'report',
              reaction.level,
              {
                event: 'status_report_rejected',
                reason: msg.result.ok ? null : describeFailure(msg.result.failure),
                bytes: msg.bytes,
                containers: msg.containers,
              },
              'status report rejected',
            );
            if (reaction.reregister) next = needRegistration(next, reaction.reregister);
            break;
        }
        // Events held while the report was out go now.
        return pump(next.reportAgain ? startReport(next, ctx) : next, ctx);
      },

      async 'reporter.event-sent'(state, msg, ctx) {
        ctx.carried.inFlight = null;
        let next: ReporterState = { ...state, sending: false };
        // The head may have changed while the request was out (overflow dropped it): only touch our own entry.
        const entry = outbox.headIf(msg.entryId);
        const what = entry?.event.type ?? 'heartbeat';
        if (refusedAsDecommissioning(msg)) {
          if (entry) outbox.rejected(entry.id);
          persistSoon(ctx);
          return goSilent({ ...next, heartbeat: null }, ctx, 'the master is decommissioning this agent');
        }
        const reaction = reactionTo(msg.result);
        switch (reaction.kind) {
          case 'delivered':
            if (entry) {
              next = { ...next, overflowing: false };
              outbox.delivered(entry.id);
              deps.board.publish('outbox', { delivered: deps.board.read().outbox.delivered + 1 });
            } else if (msg.entryId === null && next.heartbeat?.seq !== null) next = { ...next, heartbeat: null };
            if (next.failures > 0)
              ctx.log.info(
                { event: 'events_recovered', failures: next.failures, queued: outbox.size },
                'master reachable again',
              );
            next = { ...next, failures: 0, lastReject: { ...next.lastReject, event: null } };
            if (msg.result.ok) next = steps.noteProtocol(next, ctx, msg.result.value.code);
            if (entry)
              ctx.log.debug(
                { event: 'event_delivered', type: what, seq: entry.seq, duplicate: reaction.duplicate },
                'event delivered',
              );
            if (state.forceReport && outbox.size === 0) next = startReport(next, ctx);
            if (outbox.size === 0 || state.failures > 0) persistSoon(ctx);
            break;
          case 'retry': {
            const failures = next.failures + 1;
            if (entry) outbox.attemptFailed(entry.id);
            const delay = failureDelay(failures, FIRST_RETRY_MS, deps.retryCapMs, deps.random(), reaction.retryAfterMs);
            const fields = {
              event: 'event_send_failed',
              type: what,
              failures,
              retryInMs: delay,
              queued: outbox.size,
              reason: msg.result.ok ? null : describeFailure(msg.result.failure),
            };
            if (failures === 1) ctx.log.warn(fields, 'event not delivered; will retry');
            else ctx.log.debug(fields, 'event not delivered; will retry');
            ctx.timers.once('retry', delay, reporterPump());
            persistSoon(ctx);
            next = { ...next, failures };
            break;
          }
          case 'reregister_and_resend':
            await outbox.persist();
            next = needRegistration(next, reaction.cause);
            break;
          case 'drop':
            if (entry) {
              outbox.rejected(entry.id);
            } else if (msg.entryId === null && next.heartbeat?.seq !== null) next = { ...next, heartbeat: null };
            next = noteReject(
              next,
              ctx,
              'event',
              reaction.level,
              {
                event: 'event_rejected',
                type: what,
                seq: entry?.seq ?? null,
                bytes: msg.bytes,
                reason: msg.result.ok ? null : describeFailure(msg.result.failure),
              },
              'event rejected by the master; dropped',
            );
            if (reaction.reregister) next = needRegistration(next, reaction.reregister);
            persistSoon(ctx);
            break;
        }
        publish();
        return pump(next, ctx);
      },
    },
  };
}
