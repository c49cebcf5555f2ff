/** An HttpMasterClient as the specs set it up: a spec key, no Access, the system clock, a log of its own. */
import { HttpMasterClient, type HttpMasterClientOptions } from '../../master/client.js';
import { systemClock } from '../../supervisor/clock.js';
import { LogSink } from './log-sink.js';

export function specMasterClient(baseUrl: string, overrides: Partial<HttpMasterClientOptions> = {}): HttpMasterClient {
  const sink = new LogSink();
  return new HttpMasterClient({
    baseUrl,
    apiKey: 'k'.repeat(43),
    access: undefined,
    timeoutMs: 3000,
    caFile: undefined,
    userAgent: 'spec',
    clock: systemClock,
    log: sink.log,
    redactor: sink.redactor,
    ...overrides,
  });
}
