import { ask, tell, type ActorCell } from '../../supervisor/actor-ref.js';
import type { BackoffPolicy } from '../../supervisor/backoff.js';
import { childSpec, type RestartType, type Strategy } from '../../supervisor/child-spec.js';
import type { SupervisorMsg } from '../../supervisor/protocol.js';
import { CellRegistry, startTree, type RunningTree } from '../../supervisor/tree.js';
import { LogSink } from './log-sink.js';
import { ManualClock } from './manual-clock.js';
import { newJournal, probeDef, type ProbeJournal, type ProbeMsg, type ProbeState } from './probe-actor.js';

export interface ProbeOptions {
  restart?: RestartType;
  backoff?: Partial<BackoffPolicy>;
  failInit?: () => boolean;
  stash?: number;
  shutdownTimeoutMs?: number;
}

export interface Harness {
  clock: ManualClock;
  sink: LogSink;
  tree: RunningTree;
  journal: ProbeJournal;
  cells: Record<string, ActorCell<ProbeMsg>>;
  /** The root supervisor, for its own messages (an injected crash, as chaos sends it). */
  rootCell: ActorCell<SupervisorMsg>;
  fatal: Error[];
  get(name: string): Promise<ProbeState>;
  started(name: string, gen: number): Promise<unknown>;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { minMs: 100, maxMs: 1600, randomFactor: 0, resetAfterMs: 10_000 };

export function startProbeTree(opts: {
  strategy: Strategy;
  probes: Record<string, ProbeOptions>;
  intensity?: number;
  periodMs?: number;
  handlerTimeoutMs?: number;
  teardown?: (deadline: number) => Promise<void>;
}): Harness {
  const clock = new ManualClock();
  const sink = new LogSink();
  const journal = newJournal();
  const registry = new CellRegistry(sink.log, 100, 'spec');
  const rootCell = registry.create<SupervisorMsg>('root');
  const cells: Record<string, ActorCell<ProbeMsg>> = {};
  const children = Object.entries(opts.probes).map(([name, p]) => {
    const cell = registry.create<ProbeMsg>(name, p.stash ?? 100);
    cells[name] = cell;
    return childSpec({
      cell,
      def: probeDef(name, journal, p.failInit ? { failInit: p.failInit } : {}),
      restart: p.restart ?? 'permanent',
      backoff: { ...DEFAULT_BACKOFF, ...p.backoff },
      shutdownTimeoutMs: p.shutdownTimeoutMs ?? 1000,
    });
  });
  const fatal: Error[] = [];
  const tree = startTree({
    root: {
      id: 'root',
      strategy: opts.strategy,
      limit: { intensity: opts.intensity ?? 3, periodMs: opts.periodMs ?? 5000 },
      children,
    },
    rootCell,
    registry,
    runtime: { clock, handlerTimeoutMs: opts.handlerTimeoutMs ?? 1000, random: () => 0.5 },
    log: sink.log,
    onFatal: (err) => {
      fatal.push(err);
    },
    ...(opts.teardown ? { teardown: opts.teardown } : {}),
  });
  return {
    clock,
    sink,
    tree,
    journal,
    cells,
    rootCell,
    fatal,
    get: (name) => {
      const cell = cells[name];
      if (!cell) throw new Error(`no probe ${name}`);
      return ask<ProbeMsg, ProbeState>(cell, (replyTo) => ({ type: 'probe.get', replyTo }), 2000);
    },
    started: (name, gen) =>
      sink.waitFor(
        (r) => r.event === 'actor_started' && r.child === name && r.gen === gen,
        3000,
        `${name} gen ${gen} started`,
      ),
  };
}

export function crash(h: Harness, name: string, why = 'boom'): void {
  const cell = h.cells[name];
  if (!cell) throw new Error(`no probe ${name}`);
  tell(cell, { type: 'probe.crash', why });
}
