/** Reporter's protocol: the periodic heartbeat/status report and events handed to it for delivery (§5). */
import type { ContainerInfo } from './docker.js';

export type OutboundEvent =
  | { readonly type: 'container_start'; readonly container: ContainerInfo; readonly timestamp: string }
  | { readonly type: 'container_stop'; readonly container: ContainerInfo; readonly timestamp: string }
  | { readonly type: 'tunnel_status'; readonly status: 'running' | 'stopped'; readonly name: string | null; readonly version: string | null; readonly timestamp: string };

export type ReporterMsg =
  | { readonly type: 'reporter.tick' }
  | { readonly type: 'reporter.enqueue'; readonly event: OutboundEvent }
  | { readonly type: 'reporter.report-now' }
  | { readonly type: 'reporter.delivered'; readonly sequence: number }
  | { readonly type: 'reporter.failed'; readonly status: number | null; readonly retryAfterMs: number | null };

export const reporterTick = (): ReporterMsg => ({ type: 'reporter.tick' });
export const reporterEnqueue = (event: OutboundEvent): ReporterMsg => ({ type: 'reporter.enqueue', event });
export const reporterReportNow = (): ReporterMsg => ({ type: 'reporter.report-now' });
