/** EventWatcher's protocol: the Docker event stream as messages (docs/protocol.md §5.6). */
import type { DockerEvent } from '../domain/container.js';

export type EventWatcherMsg =
  | { readonly type: 'watcher.event'; readonly event: DockerEvent }
  | { readonly type: 'watcher.stream-ended'; readonly reason: string }
  /** Swarm mode: look at one service again (`attempt` counts the looks while it converges). */
  | { readonly type: 'watcher.service-check'; readonly serviceId: string; readonly attempt: number }
  /** Swarm mode: look at every service (periodic, and after a node event). */
  | { readonly type: 'watcher.sweep' };
