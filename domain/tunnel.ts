/** The tunnel as the master assigns it (docs/protocol.md §4.1) and as the agent reports it. */
export interface TunnelAssignment {
  readonly tunnelId: string;
  readonly tunnelName: string;
  readonly token: string;
}

export interface TunnelView {
  readonly desiredState: 'unknown' | 'running' | 'stopped';
  readonly name: string | null;
  readonly id: string | null;
  readonly containerId: string | null;
  readonly containerRunning: boolean;
  readonly version: string | null;
}

/** The one tunnel container of a host (docs/protocol.md §7.1). */
export const TUNNEL_CONTAINER = 'dockflare-agent-tunnel';
/** Informational labels; never `dockflare.*` or `cloudflare.tunnel.*`, or the container would report itself. */
export const MANAGED_LABEL = 'dockflare-agent.managed';
