/**
 * DOCKFLARE_API_KEY_FILE read again when the master refuses the key (a key being rolled). An operator's
 * `echo … > file` truncates before it writes: a read in between finds the file empty. Such a read (and one that
 * finds no file, an editor's save by rename) is tried once more a moment later, so that the request refused during
 * the write goes again at once rather than after a backoff.
 */
import { isHeaderSafe, readSecretFile } from './config/config.js';
import { loudOnce } from '../log/loud-once.js';
import type { Logger } from '../log/logger.js';
import type { Clock } from '../supervisor/clock.js';

/** Long enough for a shell redirect or an editor's rename to finish; short beside the first retry (1 s). */
export const KEY_FILE_SETTLE_MS = 50;

export interface KeyFileReaderDeps {
  file: string;
  clock: Clock;
  log: Logger;
  settleMs?: number;
}

/** A reader for the client's `reloadKey`: the key, or null while the file holds none (the old key stays). */
export function keyFileReader(deps: KeyFileReaderDeps): () => Promise<string | null> {
  const settleMs = deps.settleMs ?? KEY_FILE_SETTLE_MS;
  let problem: string | null = null;
  const readOnce = (): ReturnType<typeof readSecretFile> => {
    const read = readSecretFile(deps.file);
    if (read.ok && !isHeaderSafe(read.value)) {
      return { ok: false, reason: 'holds characters a request header cannot carry', absent: false };
    }
    return read;
  };
  const settle = (): Promise<void> =>
    new Promise((resolve) => {
      deps.clock.setTimeout(resolve, settleMs);
    });
  return async () => {
    let read = readOnce();
    if (!read.ok && read.absent) {
      await settle();
      read = readOnce();
    }
    if (read.ok) {
      problem = null;
      return read.value;
    }
    problem = loudOnce(
      deps.log,
      problem,
      read.reason,
      'warn',
      { event: 'api_key_file_unreadable', file: deps.file, reason: read.reason },
      'agent key file unreadable',
    );
    return null;
  };
}
