/**
 * Reporter's protocol: the periodic heartbeat/status report and events handed to it for delivery (docs/protocol.md §5).
 */
import type { ContainerInfo } from '../domain/container.js';
import type { OutboundEvent, Scan } from '../domain/outbound.js';
import type { MasterResult } from '../domain/master-result.js';
import type { IdentityChanged } from './registration.js';

type EventReply = MasterResult<{ code: string | null }>;

export type ReporterMsg =
  | IdentityChanged
  | { readonly type: 'reporter.tick' }
  | { readonly type: 'reporter.enqueue'; readonly event: OutboundEvent }
  | { readonly type: 'reporter.report-now' }
  /**
   * An inventory for a report: from Docker (`ticket`: the view's epoch when the scan began, null when it may not
   * become the baseline) or from the view itself.
   */
  | {
      readonly type: 'reporter.scanned';
      readonly scan: Scan;
      readonly source: 'docker' | 'view';
      readonly ticket: number | null;
    }
  /**
   * From the EventWatcher: its stream is live (subscribed) or not (its incarnation ended). `inventory`: its own scan
   * at the subscription, a baseline for the events it hands on from there.
   */
  | { readonly type: 'reporter.feed'; readonly live: boolean; readonly inventory: readonly ContainerInfo[] | null }
  /** `bytes`: the request's size, measured only for a rejection (the only time it is logged). */
  | {
      readonly type: 'reporter.event-sent';
      readonly entryId: string | null;
      readonly result: EventReply;
      readonly bytes: number;
    }
  | {
      readonly type: 'reporter.report-sent';
      readonly result: EventReply;
      readonly bytes: number;
      readonly containers: number;
    }
  | { readonly type: 'reporter.pump' }
  | { readonly type: 'reporter.persist' };

export const reporterTick = (): ReporterMsg => ({ type: 'reporter.tick' });
export const reporterEnqueue = (event: OutboundEvent): ReporterMsg => ({ type: 'reporter.enqueue', event });
export const reporterReportNow = (): ReporterMsg => ({ type: 'reporter.report-now' });
export const reporterFeed = (live: boolean, inventory: readonly ContainerInfo[] | null = null): ReporterMsg => ({
  type: 'reporter.feed',
  live,
  inventory,
});
export const reporterPump = (): ReporterMsg => ({ type: 'reporter.pump' });
export const reporterPersist = (): ReporterMsg => ({ type: 'reporter.persist' });
