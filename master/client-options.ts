/** How the HTTP master client is set up, and the counters it keeps for /metrics. */
import type { Clock } from '../supervisor/clock.js';
import type { Logger } from '../log/logger.js';
import type { Redactor } from '../log/redact.js';

export interface HttpMasterClientOptions {
  baseUrl: string;
  apiKey: string;
  /**
   * The key again, read from where it came from (DOCKFLARE_API_KEY_FILE), or null when it cannot be read. Asked when
   * the master answers 401: a key rolled on the master and written to the file is used at once.
   */
  reloadKey?: () => Promise<string | null>;
  access: { clientId: string; clientSecret: string } | undefined;
  timeoutMs: number;
  caFile: string | undefined;
  userAgent: string;
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  /** Replies larger than this are refused (a hostile or broken proxy must not exhaust memory). */
  maxReplyBytes?: number;
}

export interface MasterStats {
  requests: number;
  failures: number;
  lastLatencyMs: number | null;
  latencySumMs: number;
}
