/** EventWatcher's protocol: the Docker event stream as messages (docs/protocol.md §5.6). */
import type { DockerEvent } from '../domain/container.js';

export type EventWatcherMsg =
  | { readonly type: 'watcher.event'; readonly event: DockerEvent }
  | { readonly type: 'watcher.stream-ended'; readonly reason: string };
