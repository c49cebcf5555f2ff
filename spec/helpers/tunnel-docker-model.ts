import type { ContainerState, DockerPort, TunnelContainerSpec } from '../../docker/port.js';
import { TUNNEL_CONTAINER } from '../../domain/tunnel.js';
import type { ManualClock } from './manual-clock.js';

/**
 * A Docker engine reduced to the one container the tunnel keeper owns: created and started on request, stopped
 * and removed on request, and changed from outside when a spec says so (it exits and Docker's restart policy
 * starts it again; someone removes it). The image and the network exist. Anything else fails loudly.
 */
export class TunnelDockerModel {
  container: ContainerState | null = null;
  readonly created: string[] = [];
  readonly removed: string[] = [];
  /** Every stopContainer call that found a running container (a stop without removal). */
  readonly stopped: string[] = [];
  /** Called at each stopContainer before it acts; throw from it to make the stop fail. */
  onStop: () => void = () => undefined;
  /** The stop grace (s) of every stopAndRemove call. */
  readonly stopTimeouts: number[] = [];
  private next = 0;
  private gate: Promise<void> = Promise.resolve();

  constructor(private readonly clock: ManualClock) {}

  /** cloudflared exits by itself (a refused token) and Docker's `unless-stopped` starts it again at once. */
  exitAndRestart(): void {
    const c = this.require();
    this.container = { ...c, restartCount: c.restartCount + 1, startedAt: this.now(), exitCode: 1 };
  }

  /** Holds every container creation until the returned function is called (a slow engine, an image pull). */
  holdCreates(): () => void {
    let open: () => void = () => undefined;
    this.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    return open;
  }

  /** `docker rm -f` from outside. */
  removeFromOutside(): void {
    this.require();
    this.container = null;
  }

  port(): DockerPort {
    const unexpected = (what: string) => (): never => {
      throw new Error(`fake Docker: unexpected call ${what}`);
    };
    return {
      inspectContainer: (idOrName: string) => {
        const c = this.container;
        return Promise.resolve(c !== null && (idOrName === c.id || idOrName === c.name) ? { ...c } : null);
      },
      stopContainer: (idOrName: string, timeoutS: number) => {
        this.stopTimeouts.push(timeoutS);
        this.onStop();
        const c = this.container;
        if (c === null || (idOrName !== c.id && idOrName !== c.name)) return Promise.resolve(false);
        if (c.running) {
          this.stopped.push(c.id);
          this.container = { ...c, running: false, restarting: false, status: 'exited', exitCode: 0 };
        }
        return Promise.resolve(true);
      },
      stopAndRemove: (idOrName: string, timeoutS: number) => {
        this.stopTimeouts.push(timeoutS);
        const c = this.container;
        if (c !== null && (idOrName === c.id || idOrName === c.name)) {
          this.removed.push(c.id);
          this.container = null;
        }
        return Promise.resolve({ kind: 'removed' as const });
      },
      imageExists: () => Promise.resolve(true),
      networkExists: () => Promise.resolve(true),
      createAndStart: async (spec: TunnelContainerSpec) => {
        await this.gate;
        if (this.container !== null)
          throw new Error('fake Docker: name conflict (the keeper must remove the old container first)');
        if (spec.name !== TUNNEL_CONTAINER) throw new Error(`fake Docker: unexpected container name ${spec.name}`);
        const id = `tunnel-${++this.next}`;
        this.created.push(id);
        this.container = {
          id,
          name: spec.name,
          status: 'running',
          running: true,
          restarting: false,
          image: spec.image,
          env: [...spec.env],
          startedAt: this.now(),
          restartCount: 0,
          exitCode: null,
          labels: { ...spec.labels },
        };
        return id;
      },
      logTail: () => Promise.resolve(['INF Version 2026.1.0', 'ERR Provided Tunnel token is not valid']),
      listManagedContainers: unexpected('listManagedContainers'),
      subscribeEvents: unexpected('subscribeEvents'),
      pullImage: unexpected('pullImage'),
      createNetwork: unexpected('createNetwork'),
    };
  }

  private require(): ContainerState {
    if (this.container === null) throw new Error('fake Docker: no tunnel container');
    return this.container;
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
