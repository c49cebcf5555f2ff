/**
 * SIGTERM/SIGINT → graceful shutdown of the tree within the budget (Docker kills at 10 s). A second signal, or
 * the budget plus a small grace passing, ends the process at once: a stuck shutdown must not outlive Docker's
 * patience and lose the log line that says why.
 */
import type { Logger } from '../log/logger.js';
import { EXIT } from './exit-codes.js';

export interface ShutdownDeps {
  log: Logger;
  budgetMs: number;
  /** Runs the graceful part; resolves 'timeout' when something had to be killed. */
  shutdown: (budgetMs: number) => Promise<'ok' | 'timeout'>;
  exit: (code: number) => void;
}

export function installSignalHandlers(deps: ShutdownDeps): () => void {
  let started = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (started) {
      deps.log.warn({ event: 'shutdown_forced', signal }, 'second signal during shutdown; exiting now');
      deps.exit(EXIT.shutdownTimeout);
      return;
    }
    started = true;
    const begun = performance.now();
    deps.log.info({ event: 'shutdown_requested', signal, budgetMs: deps.budgetMs }, 'shutting down');
    const hard = setTimeout(() => {
      deps.log.error({ event: 'shutdown_budget_exceeded', budgetMs: deps.budgetMs }, 'shutdown budget exceeded');
      deps.exit(EXIT.shutdownTimeout);
    }, deps.budgetMs + 500);
    hard.unref();
    deps.shutdown(deps.budgetMs).then(
      (outcome) => {
        clearTimeout(hard);
        const code = outcome === 'ok' ? EXIT.ok : EXIT.shutdownTimeout;
        deps.log.info(
          { event: 'shutdown_complete', outcome, durationMs: Math.round(performance.now() - begun), exitCode: code },
          'shutdown complete',
        );
        deps.exit(code);
      },
      (err: unknown) => {
        clearTimeout(hard);
        deps.log.error({ event: 'shutdown_failed', err }, 'shutdown failed');
        deps.exit(EXIT.shutdownTimeout);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
