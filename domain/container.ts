/** A container as the master sees it, and a Docker event as the agent reads it (docs/protocol.md §5.4, §5.6). */
export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  /** Only `dockflare.` and `cloudflare.tunnel.` labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Set when the entry is a Swarm service (one entry for all its tasks), not a container. */
  readonly swarm?: SwarmFacts;
}

export interface SwarmFacts {
  readonly serviceId: string;
  readonly replicasRunning: number;
  /** Replicas wanted; for a global service, the tasks Swarm wants running. */
  readonly replicasDesired: number;
}

/** The kinds of Docker event the agent follows: services and nodes only in Swarm mode. */
export type DockerEventType = 'container' | 'service' | 'node';

export interface DockerEvent {
  /** Absent: a container's (the only kind a standalone agent subscribes to). */
  readonly type?: DockerEventType;
  readonly action: string;
  readonly id: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly timeNano: bigint;
}
