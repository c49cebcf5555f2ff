/** EventWatcher's protocol: the Docker event stream as messages (protocol.md §5.6). */
export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  /** Only `dockflare.` and `cloudflare.tunnel.` labels. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface DockerEvent {
  readonly action: string;
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly timeNano: bigint;
}

export type EventWatcherMsg =
  | { readonly type: 'watcher.event'; readonly event: DockerEvent }
  | { readonly type: 'watcher.stream-ended'; readonly reason: string };
