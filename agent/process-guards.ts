/**
 * Process guards: a floating rejection or an exception thrown outside any actor (timer callback, stream 'error')
 * bypasses the supervision tree. Log it as `process_crash` at fatal and exit 1, so Docker restarts a clean agent
 * instead of leaving a half-dead one running.
 */
import type { Logger } from '../log/logger.js';
import { EXIT } from './exit-codes.js';
import { asError } from '../supervisor/incarnation.js';

export function installProcessGuards(log: Logger, exit: (code: number) => void): () => void {
  const onRejection = (reason: unknown): void => {
    log.fatal(
      { event: 'process_crash', kind: 'unhandledRejection', err: asError(reason) },
      'unhandled promise rejection; exiting',
    );
    exit(EXIT.crash);
  };
  const onException = (err: Error): void => {
    log.fatal({ event: 'process_crash', kind: 'uncaughtException', err }, 'uncaught exception; exiting');
    exit(EXIT.crash);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
