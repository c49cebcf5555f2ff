/**
 * Facts actors publish for observability only (never for control): registration state, master contact, tunnel
 * state. Heartbeats, /health and the `health` log record read them next to the supervision snapshot.
 */
export interface StatusFacts {
  registration: {
    registered: boolean;
    agentId: string | null;
    protocolVersion: 1 | 2 | null;
    enrollment: string | null;
    lastError: string | null;
  };
  master: { url: string; lastSuccessAt: number | null };
  tunnel: {
    desiredState: string;
    name: string | null;
    id: string | null;
    containerRunning: boolean;
    version: string | null;
    containersStarted: number;
    lastStartCause: string | null;
  };
  outbox: { queued: number; dropped: number; delivered: number };
  docker: {
    mode: 'standalone' | 'swarm';
    /** Swarm mode: labelled services the master was told run. */
    servicesServed: number | null;
    /** Swarm mode: the tunnel service's tasks; null while there is none to run. */
    tunnelReplicas: { running: number; desired: number } | null;
  };
}

export class StatusBoard {
  private facts: StatusFacts;

  constructor(masterUrl: string) {
    this.facts = {
      registration: { registered: false, agentId: null, protocolVersion: null, enrollment: null, lastError: null },
      master: { url: masterUrl, lastSuccessAt: null },
      tunnel: {
        desiredState: 'unknown',
        name: null,
        id: null,
        containerRunning: false,
        version: null,
        containersStarted: 0,
        lastStartCause: null,
      },
      outbox: { queued: 0, dropped: 0, delivered: 0 },
      docker: { mode: 'standalone', servicesServed: null, tunnelReplicas: null },
    };
  }

  publish<K extends keyof StatusFacts>(key: K, value: Partial<StatusFacts[K]>): void {
    this.facts = { ...this.facts, [key]: { ...this.facts[key], ...value } };
  }

  read(): Readonly<StatusFacts> {
    return this.facts;
  }
}
