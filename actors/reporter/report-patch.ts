/**
 * A status report never undoes a newer event. A scan is taken, then events arrive while it runs; a report built
 * from the scan alone would tell a v2 master that a container started meanwhile is gone (and schedule its rules for
 * deletion until the next report), or that one stopped meanwhile still runs. So the events handed to the Reporter
 * since the scan started are laid over it, and while the report is out no event is sent (see the Reporter), so
 * that none overtakes it at the master.
 */
import type { ContainerInfo } from '../../domain/container.js';
import type { OutboundEvent, Scan } from '../../domain/outbound.js';

/** Per container, its latest state told since the scan started: running (its info) or stopped (null). */
export type SinceScan = ReadonlyMap<string, ContainerInfo | null>;

/** Records one event handed to the Reporter while a scan runs (null: none runs). */
export function noteSinceScan(since: SinceScan | null, event: OutboundEvent): SinceScan | null {
  if (since === null || event.type === 'tunnel_status') return since;
  const next = new Map(since);
  next.set(event.container.id, event.type === 'container_start' ? event.container : null);
  return next;
}

/** The scan with what was told since it started laid over it; a failed scan stays failed. */
export function patchScan(scan: Scan, since: SinceScan | null): Scan {
  if (!scan.ok || since === null || since.size === 0) return scan;
  const kept = scan.containers.filter((c) => !since.has(c.id));
  const started = [...since.values()].filter((c): c is ContainerInfo => c !== null);
  return { ok: true, containers: [...kept, ...started] };
}
