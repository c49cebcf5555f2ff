/**
 * Process guards: a floating rejection or an exception thrown outside any actor (timer callback, stream 'error')
 * bypasses the supervision tree. Log it as `process_crash` at fatal and exit 1, so Docker restarts a clean agent
 * instead of leaving a half-dead one running. Node's own warnings become log lines too (`process_warning`), not raw
 * stderr beside the JSON log.
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
  // DEP0169: node-fetch 2 hands url.parse() a URL it has just normalised with WHATWG URL; Node 24 warns of any call
  // outside node_modules, which the bundle is. Nothing for an operator to do: debug. Anything else is news: warn.
  const onWarning = (w: Error & { code?: string }): void => {
    const fields = { event: 'process_warning', name: w.name, code: w.code ?? null, err: w };
    if (w.code === 'DEP0169') log.debug(fields, 'node warning');
    else log.warn(fields, 'node warning');
  };
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.on('warning', onWarning);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    process.off('warning', onWarning);
    for (const printer of printers) process.on('warning', printer);
  };
}
