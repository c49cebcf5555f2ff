/** A container as the master sees it, and a Docker event as the agent reads it (docs/protocol.md §5.4, §5.6). */
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
