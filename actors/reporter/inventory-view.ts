/**
 * The inventory as the Reporter knows it from events. A status report used to list Docker's containers every
 * REPORT_INTERVAL_SECONDS: on a host with 500 containers that is a 1 MB reply to parse every few seconds, to learn
 * what the event stream had already said. Now a Docker scan is the baseline and every container event the Reporter is
 * handed is laid over it, so a report is built from memory.
 *
 * The view is only as good as the stream behind it. It is used while the EventWatcher says its stream is live
 * (`reporter.feed`), and for at most `rescanMs` after its baseline: then a report scans Docker again (which also
 * corrects a renamed container's name, the one change no subscribed event carries). Without a live stream a report
 * scans Docker as before, so a Docker that is away still yields an incomplete report, never a stale complete one.
 */
import type { ContainerInfo } from '../../domain/container.js';
import type { OutboundEvent } from '../../domain/outbound.js';

/** How long a baseline serves before a report scans Docker again. */
export const INVENTORY_RESCAN_MS = 5 * 60_000;

export class InventoryView {
  private live = false;
  /** Bumped each time the stream goes down: a scan that began before must not become the baseline. */
  private epoch = 0;
  private baseline: Map<string, ContainerInfo> | null = null;
  private takenAt = 0;

  constructor(
    private readonly rescanMs = INVENTORY_RESCAN_MS,
    /** False in Swarm mode: service replica counts change without an event the Reporter is handed. */
    private readonly enabled = true,
  ) {}

  /** The watcher's stream: live from its subscription on, down when its incarnation ends. */
  feed(live: boolean): void {
    if (!live) {
      this.epoch++;
      this.baseline = null;
    }
    this.live = live;
  }

  /** What a scan starting now must present to `adopt` for its result to become the baseline. */
  get ticket(): number | null {
    return this.enabled && this.live ? this.epoch : null;
  }

  /** A complete scan (with the events since it began laid over it) becomes the baseline. */
  adopt(ticket: number | null, containers: readonly ContainerInfo[], at: number): void {
    if (ticket === null || ticket !== this.epoch || !this.live) return;
    this.baseline = new Map(containers.map((c) => [c.id, c]));
    this.takenAt = at;
  }

  /** A container event handed to the Reporter. */
  apply(event: OutboundEvent): void {
    if (this.baseline === null || event.type === 'tunnel_status') return;
    if (event.type === 'container_start') this.baseline.set(event.container.id, event.container);
    else this.baseline.delete(event.container.id);
  }

  /** The inventory from memory, or null when a report must scan Docker. */
  current(now: number): readonly ContainerInfo[] | null {
    if (this.baseline === null || !this.live || now - this.takenAt >= this.rescanMs) return null;
    return [...this.baseline.values()];
  }
}
