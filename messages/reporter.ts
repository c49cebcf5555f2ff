/** Reporter's protocol: the periodic heartbeat/status report and events handed to it for delivery (§5). */
import type { Scan } from '../lib/master/envelope.js';
import type { MasterResult } from '../lib/master/result.js';
import type { ContainerInfo } from './docker.js';
import type { IdentityChanged } from './registration.js';

export type OutboundEvent =
  | { readonly type: 'container_start'; readonly container: ContainerInfo; readonly timestamp: string }
  | { readonly type: 'container_stop'; readonly container: ContainerInfo; readonly timestamp: string }
  | { readonly type: 'tunnel_status'; readonly status: 'running' | 'stopped'; readonly name: string | null; readonly version: string | null; readonly timestamp: string };

type EventReply = MasterResult<{ code: string | null }>;

export type ReporterMsg =
  | IdentityChanged
  | { readonly type: 'reporter.tick' }
  | { readonly type: 'reporter.enqueue'; readonly event: OutboundEvent }
  | { readonly type: 'reporter.report-now' }
  | { readonly type: 'reporter.scanned'; readonly scan: Scan }
  /** `bytes`: the request's size, measured only for a rejection (the only time it is logged). */
  | { readonly type: 'reporter.event-sent'; readonly entryId: string | null; readonly result: EventReply; readonly bytes: number }
  | { readonly type: 'reporter.report-sent'; readonly result: EventReply; readonly bytes: number; readonly containers: number }
  | { readonly type: 'reporter.pump' }
  | { readonly type: 'reporter.persist' };

export const reporterTick = (): ReporterMsg => ({ type: 'reporter.tick' });
export const reporterEnqueue = (event: OutboundEvent): ReporterMsg => ({ type: 'reporter.enqueue', event });
export const reporterReportNow = (): ReporterMsg => ({ type: 'reporter.report-now' });
export const reporterPump = (): ReporterMsg => ({ type: 'reporter.pump' });
export const reporterPersist = (): ReporterMsg => ({ type: 'reporter.persist' });
