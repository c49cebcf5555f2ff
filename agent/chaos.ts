/**
 * Chaos mode: kills actors on purpose, the way users test the agent. A kill is a crash injected into the
 * actor's mailbox through its supervisor, so the real crash path runs (actor_crashed, backoff, restart). Polite
 * mode never pushes a supervisor to its intensity limit. Seeded, so a run can be repeated.
 */
import type { Clock, TimerHandle } from '../supervisor/clock.js';
import type { Logger } from '../log/logger.js';
import { injectCrash, type SupervisorMsg } from '../supervisor/protocol.js';
import { tell, type ActorRef } from '../supervisor/actor-ref.js';
import type { HealthSnapshot } from '../supervisor/health.js';
import type { IntensityLimit } from '../supervisor/intensity.js';

export interface ChaosSettings {
  enabled: boolean;
  meanIntervalMs: number;
  /** 0..1: each interval is mean × (1 ± deviation). */
  deviation: number;
  /** Actors that may be killed; empty means every non-root actor. */
  targets: readonly string[];
  seed: number | null;
  polite: boolean;
}

export interface ChaosTopology {
  /** For each killable actor, the supervisor that owns it and that supervisor's limit and children. */
  owners: ReadonlyMap<
    string,
    { supervisor: string; ref: ActorRef<SupervisorMsg>; limit: IntensityLimit; siblings: readonly string[] }
  >;
}

export type KillResult =
  { ok: true; actor: string; gen: number } | { ok: false; status: 403 | 404 | 409; reason: string };

/** mulberry32: small, fast, good enough to pick victims reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class ChaosMonkey {
  private timer: TimerHandle | undefined;
  private readonly random: () => number;

  constructor(
    private readonly settings: ChaosSettings,
    private readonly topology: ChaosTopology,
    private readonly deps: { clock: Clock; log: Logger; health: () => HealthSnapshot },
  ) {
    this.random = settings.seed === null ? Math.random : seededRandom(settings.seed);
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  start(): void {
    if (!this.settings.enabled) return;
    this.deps.log.warn({ event: 'chaos_enabled', ...this.settings }, 'chaos mode on');
    this.schedule();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Kills one actor now, as the HTTP endpoint and the CLI ask. */
  kill(actor: string, origin: 'schedule' | 'request'): KillResult {
    if (!this.settings.enabled) return { ok: false, status: 403, reason: 'chaos mode is off (CHAOS_ENABLED=false)' };
    const owner = this.topology.owners.get(actor);
    if (!owner) return { ok: false, status: 404, reason: `no killable actor named ${actor}` };
    const snapshot = this.deps.health();
    const target = snapshot.actors[actor];
    if (target?.status !== 'running')
      return { ok: false, status: 409, reason: `${actor} is not running (${target?.status ?? 'absent'})` };
    if (this.settings.polite && origin === 'schedule') {
      const inWindow = owner.siblings.reduce((n, s) => n + (snapshot.actors[s]?.restartsInWindow ?? 0), 0);
      if (inWindow + 1 >= owner.limit.intensity)
        return { ok: false, status: 409, reason: `polite: ${owner.supervisor} is near its intensity limit` };
    }
    this.deps.log.warn({ event: 'chaos_kill', actor, gen: target.gen, origin }, 'chaos: killing an actor');
    tell(owner.ref, injectCrash(actor, `chaos kill (${origin})`));
    return { ok: true, actor, gen: target.gen };
  }

  private targets(): string[] {
    const all = [...this.topology.owners.keys()];
    return this.settings.targets.length === 0 ? all : all.filter((a) => this.settings.targets.includes(a));
  }

  private schedule(): void {
    const { meanIntervalMs, deviation } = this.settings;
    const delay = Math.max(1, Math.round(meanIntervalMs * (1 + deviation * (2 * this.random() - 1))));
    this.timer = this.deps.clock.setTimeout(() => {
      const targets = this.targets();
      const victim = targets[Math.floor(this.random() * targets.length)];
      if (victim !== undefined) {
        const result = this.kill(victim, 'schedule');
        if (!result.ok)
          this.deps.log.info({ event: 'chaos_skipped', actor: victim, reason: result.reason }, 'chaos: kill skipped');
      }
      this.schedule();
    }, delay);
  }
}
