/**
 * The configuration of the runtime under the agent: supervision (intensity, backoff, watchdog, stash, shutdown)
 * and chaos. Part of the one schema in schema.ts; the defaults are those of docs/architecture.md §1.
 */
export const CHILD_NAMES = ['registration', 'tunnel-keeper', 'event-watcher', 'command-poller', 'reporter'] as const;
export type ChildName = (typeof CHILD_NAMES)[number];

/** docs/architecture.md §1 defaults: [minMs, maxMs]. */
export const BACKOFF_DEFAULTS: Readonly<Record<ChildName, readonly [number, number]>> = {
  registration: [1000, 60000],
  'tunnel-keeper': [2000, 120000],
  'event-watcher': [1000, 30000],
  'command-poller': [1000, 60000],
  reporter: [500, 30000],
};

const envSlug = (child: ChildName): string => child.toUpperCase().replace(/-/g, '_');

function backoffSchema(child: ChildName): Record<string, unknown> {
  const [minMs, maxMs] = BACKOFF_DEFAULTS[child];
  return {
    minMs: {
      doc: `First restart delay of ${child} after a crash (ms).`,
      format: 'strict-int',
      min: 1,
      max: 3600000,
      default: minMs,
      env: `AGENT_BACKOFF_${envSlug(child)}_MIN_MS`,
    },
    maxMs: {
      doc: `Cap of the restart delay of ${child} (ms).`,
      format: 'strict-int',
      min: 1,
      max: 3600000,
      default: maxMs,
      env: `AGENT_BACKOFF_${envSlug(child)}_MAX_MS`,
    },
  };
}

export const seconds = (doc: string, env: string, def: number, min: number, max: number): Record<string, unknown> => ({
  doc,
  format: 'strict-number',
  min,
  max,
  default: def,
  env,
});

export const runtimeSchema = {
  chaos: {
    enabled: {
      doc: 'Chaos mode: kill actors on purpose (testing only).',
      format: 'strict-boolean',
      default: false,
      env: 'CHAOS_ENABLED',
    },
    meanIntervalSeconds: seconds('Mean time between chaos kills (s).', 'CHAOS_MEAN_INTERVAL_SECONDS', 60, 0.05, 86400),
    deviation: {
      doc: 'Spread of the chaos interval: mean × (1 ± deviation), 0 to 1.',
      format: 'strict-number',
      min: 0,
      max: 1,
      default: 0.5,
      env: 'CHAOS_DEVIATION',
    },
    targets: {
      doc: 'Comma-separated actors chaos may kill; empty: every non-root actor.',
      format: 'chaos-targets',
      allowedNames: ['registration', 'workers', 'tunnel-keeper', 'event-watcher', 'command-poller', 'reporter'],
      default: '',
      env: 'CHAOS_TARGETS',
    },
    seed: {
      doc: 'Seed of the chaos schedule, for a reproducible run; empty: random.',
      format: 'optional-int',
      default: '',
      env: 'CHAOS_SEED',
    },
    polite: {
      doc: 'Never push a supervisor to its intensity limit with scheduled kills.',
      format: 'strict-boolean',
      default: true,
      env: 'CHAOS_POLITE',
    },
  },
  supervision: {
    rootIntensity: {
      doc: 'Restarts the root supervisor tolerates within its period before the agent exits 70.',
      format: 'strict-int',
      min: 0,
      max: 1000,
      default: 5,
      env: 'AGENT_SUPERVISION_ROOT_INTENSITY',
    },
    rootPeriodMs: {
      doc: 'Sliding window of the root intensity limit (ms).',
      format: 'strict-int',
      min: 1,
      max: 86400000,
      default: 60000,
      env: 'AGENT_SUPERVISION_ROOT_PERIOD_MS',
    },
    workersIntensity: {
      doc: 'Restarts the workers supervisor tolerates within its period before escalating.',
      format: 'strict-int',
      min: 0,
      max: 1000,
      default: 10,
      env: 'AGENT_SUPERVISION_WORKERS_INTENSITY',
    },
    workersPeriodMs: {
      doc: 'Sliding window of the workers intensity limit (ms).',
      format: 'strict-int',
      min: 1,
      max: 86400000,
      default: 60000,
      env: 'AGENT_SUPERVISION_WORKERS_PERIOD_MS',
    },
    backoffRandomFactor: {
      doc: 'Jitter of restart delays (0 to 1).',
      format: 'strict-number',
      min: 0,
      max: 1,
      default: 0.2,
      env: 'AGENT_BACKOFF_RANDOM_FACTOR',
    },
    backoffResetAfterMs: {
      doc: "Uptime after which a child's backoff starts again from its minimum (ms).",
      format: 'strict-int',
      min: 1,
      max: 86400000,
      default: 60000,
      env: 'AGENT_BACKOFF_RESET_AFTER_MS',
    },
    handlerTimeoutMs: {
      doc: 'A message handler running longer than this counts as a crash (ms).',
      format: 'strict-int',
      min: 100,
      max: 3600000,
      default: 60000,
      env: 'AGENT_HANDLER_TIMEOUT_MS',
    },
    stashCapacity: {
      doc: 'Messages kept for a restarting actor; more are dropped and counted.',
      format: 'strict-int',
      min: 0,
      max: 1000000,
      default: 1000,
      env: 'AGENT_STASH_CAPACITY',
    },
    shutdownBudgetMs: {
      doc: 'Whole graceful shutdown budget (ms); Docker kills at 10 s.',
      format: 'strict-int',
      min: 500,
      max: 60000,
      default: 8000,
      env: 'AGENT_SHUTDOWN_BUDGET_MS',
    },
    backoff: Object.fromEntries(CHILD_NAMES.map((c) => [c, backoffSchema(c)])),
  },
} as const;
