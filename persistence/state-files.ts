/**
 * agent_id.txt and tunnel_state.json in the data directory. Reads never throw: a missing file gives defaults, a
 * corrupt one is moved aside as NAME.corrupt-<timestamp> with a warning. One that cannot be read (owned by root
 * after an old root-run agent or a restore) is left alone and never overwritten this run: its identity or token
 * is not lost, and fixing the owner brings it back. Writes are atomic, mode 0600; when the directory is not
 * writable the agent keeps running on the in-memory value, says so loudly, and writes what is owed at the next save or
 * load that finds it writable again. The store holds that value: actors reload their state at every restart (a chaos
 * kill, a re-registration), and on a volume it cannot write to, the disk would hand them back the state from before the
 * last command (an old, revoked token) or none at all (a new identity at every registration with a v1 master).
 */
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../supervisor/clock.js';
import type { Logger } from '../log/logger.js';
import { loudOnce } from '../log/loud-once.js';
import type { Redactor } from '../log/redact.js';
import { atomicWrite, moveAside, removeStaleTempFiles } from './atomic-write.js';
import {
  AGENT_ID_FILE,
  decodeAgentId,
  decodeTunnelState,
  EMPTY_TUNNEL_STATE,
  encodeTunnelState,
  TUNNEL_STATE_FILE,
  type TunnelState,
} from './formats.js';
import type { Decoded } from '../domain/decoded.js';

/** The disk boundary as the actors see it. */
export interface StateStore {
  readonly writable: boolean;
  loadAgentId(): Promise<string | undefined>;
  saveAgentId(id: string): Promise<boolean>;
  loadTunnelState(): Promise<TunnelState>;
  saveTunnelState(state: TunnelState): Promise<boolean>;
}

export interface FileStateStoreDeps {
  dir: string;
  log: Logger;
  clock: Clock;
  redactor: Redactor;
}

export class FileStateStore implements StateStore {
  private isWritable = false;
  /** Per file, what this process last read or saved: the truth while it runs, whether or not the write worked. */
  private readonly current = new Map<string, unknown>();
  /** Per file, the encoded content known to be on disk (read or written): a save of the same is not written again. */
  private readonly onDisk = new Map<string, string>();
  /** Per file, encoded content whose write failed: written at the next chance (another save, a load). */
  private readonly owed = new Map<string, string>();
  /** Files that exist but cannot be read: never overwritten this run. */
  private readonly untouchable = new Set<string>();
  /**
   * Every write goes through this chain, one at a time: a write owed from before must never land after a newer
   * save of the same file (an old, revoked token back on disk while memory holds the new one).
   */
  private writes: Promise<unknown> = Promise.resolve();
  /** Untouchable files whose skipped write was logged already. */
  private readonly skipped = new Set<string>();

  private constructor(private readonly deps: FileStateStoreDeps) {}

  /** Prepares the directory: creates it, clears torn writes, and probes that a write really succeeds. */
  static async open(deps: FileStateStoreDeps): Promise<FileStateStore> {
    const store = new FileStateStore(deps);
    await store.prepare();
    return store;
  }

  get writable(): boolean {
    return this.isWritable;
  }

  async loadAgentId(): Promise<string | undefined> {
    return this.load<string | undefined>(AGENT_ID_FILE, decodeAgentId, (id) => id ?? '', undefined);
  }

  async saveAgentId(id: string): Promise<boolean> {
    // The original writes the bare id, no trailing newline.
    return this.save(AGENT_ID_FILE, id, id);
  }

  async loadTunnelState(): Promise<TunnelState> {
    const state = await this.load(TUNNEL_STATE_FILE, decodeTunnelState, encodeTunnelState, EMPTY_TUNNEL_STATE);
    this.deps.redactor.addSecret(state.token);
    return state;
  }

  async saveTunnelState(state: TunnelState): Promise<boolean> {
    this.deps.redactor.addSecret(state.token);
    return this.save(TUNNEL_STATE_FILE, encodeTunnelState(state), { ...state });
  }

  private async prepare(): Promise<void> {
    const { dir, log } = this.deps;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const removed = await removeStaleTempFiles(dir, [AGENT_ID_FILE, TUNNEL_STATE_FILE, '.write-probe']);
      if (removed.length > 0)
        log.warn({ event: 'state_temp_removed', dir, files: removed }, 'removed temp files of an interrupted write');
      await atomicWrite(path.join(dir, '.write-probe'), 'probe');
      await rm(path.join(dir, '.write-probe'), { force: true });
      this.isWritable = true;
    } catch (err) {
      this.isWritable = false;
      log.error(
        {
          event: 'data_dir_not_writable',
          dir,
          uid: process.getuid?.(),
          gid: process.getgid?.(),
          persists: false,
          hint: 'fix the owner or mode of the volume',
          err,
        },
        'data directory not writable',
      );
    }
  }

  private async load<T>(
    name: string,
    decode: (text: string) => Decoded<T>,
    encode: (value: T) => string,
    fallback: T,
  ): Promise<T> {
    // Actors load at every (re)start: a write owed since the volume failed gets its chance here too.
    if (this.owed.size > 0) await this.serially(() => this.payOwed());
    if (this.current.has(name)) return this.current.get(name) as T;
    const value = await this.read(name, decode, encode, fallback);
    // A save that raced this read is newer: keep it.
    if (!this.current.has(name)) this.current.set(name, value);
    return this.current.get(name) as T;
  }

  private async read<T>(
    name: string,
    decode: (text: string) => Decoded<T>,
    encode: (value: T) => string,
    fallback: T,
  ): Promise<T> {
    const file = path.join(this.deps.dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return fallback;
      // A directory where the file goes holds nothing of ours: out of the way with it.
      if (code === 'EISDIR') {
        await this.setAside(file, 'unreadable: EISDIR (a directory, not a file)');
        return fallback;
      }
      this.untouchable.add(name);
      this.deps.log.error(
        {
          event: 'state_file_unreadable',
          file,
          code,
          uid: process.getuid?.(),
          hint: 'fix its owner or mode, then restart',
          err,
        },
        'state file unreadable',
      );
      return fallback;
    }
    const decoded = decode(text);
    if (!decoded.ok) {
      await this.setAside(file, decoded.reason);
      return fallback;
    }
    this.onDisk.set(name, encode(decoded.value));
    await this.tightenMode(file);
    return decoded.value;
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writes.then(task, task);
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Writes what earlier failed to be written; quietly, the failure was logged when it happened. Inside the chain. */
  private async payOwed(): Promise<void> {
    for (const name of [...this.owed.keys()]) {
      const data = this.owed.get(name);
      if (data === undefined) continue;
      if (await this.write(name, data, false)) {
        if (this.owed.get(name) === data) this.owed.delete(name);
      }
    }
  }

  private async save(name: string, data: string, value: unknown): Promise<boolean> {
    this.current.set(name, value);
    if (this.untouchable.has(name)) {
      if (!this.skipped.has(name))
        this.deps.log.warn(
          { event: 'state_write_skipped', file: path.join(this.deps.dir, name) },
          'state write skipped',
        );
      this.skipped.add(name);
      return false;
    }
    return this.serially(async () => {
      if (this.onDisk.get(name) === data && !this.owed.has(name)) return true;
      this.owed.delete(name);
      const ok = await this.write(name, data, true);
      if (!ok) this.owed.set(name, data);
      else await this.payOwed();
      return ok;
    });
  }

  private async write(name: string, data: string, loud: boolean): Promise<boolean> {
    const file = path.join(this.deps.dir, name);
    try {
      await atomicWrite(file, data);
      this.onDisk.set(name, data);
      if (!this.isWritable)
        this.deps.log.info({ event: 'data_dir_writable', dir: this.deps.dir }, 'data directory is writable again');
      this.isWritable = true;
      return true;
    } catch (err) {
      // Loud when the directory stops taking writes; while it stays so (a read-only volume, every registration
      // saving the id again), at debug. The state is kept in memory and written once the directory takes writes.
      const before = loud && this.isWritable ? null : 'unwritable';
      this.isWritable = false;
      loudOnce(
        this.deps.log,
        before,
        'unwritable',
        'error',
        { event: 'state_write_failed', file, err },
        'state write failed',
      );
      return false;
    }
  }

  private async setAside(file: string, reason: string): Promise<void> {
    try {
      const target = await moveAside(file, this.deps.clock.now());
      // The old file may hold a token and may have been world-readable.
      await chmod(target, 0o600).catch(() => undefined);
      this.deps.log.warn(
        { event: 'state_file_corrupt', file, movedTo: target, reason },
        'state file corrupt; moved aside',
      );
    } catch (err) {
      this.deps.log.error({ event: 'state_file_corrupt', file, reason, err }, 'state file corrupt; left in place');
    }
  }

  /** Files written by other tools may be world-readable; they hold secrets, so narrow them to 0600. */
  private async tightenMode(file: string): Promise<void> {
    try {
      const st = await stat(file);
      if ((st.mode & 0o077) !== 0) {
        await chmod(file, 0o600);
        this.deps.log.warn(
          { event: 'state_mode_tightened', file, was: (st.mode & 0o777).toString(8) },
          'state file mode tightened to 0600',
        );
      }
    } catch {
      // Best effort: a read-only volume keeps its mode, and the read itself succeeded.
    }
  }
}
