/**
 * Crash-safe file replacement: temp file in the same directory → fsync → chmod → rename → fsync directory.
 * A reader sees the old content or the new one, never a torn mix; a crash leaves at most a stale temp file,
 * which `removeStaleTempFiles` clears at the next start.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

const TEMP_MARKER = '.tmp-';

export function tempNameFor(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

export async function atomicWrite(file: string, data: string, mode = 0o600): Promise<void> {
  const tmp = tempNameFor(file);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
    // open() applies the umask, which only narrows 0600; chmod makes the mode exact where the file system keeps
    // modes at all (vfat and some FUSE mounts refuse it, and that must not make the volume count as unwritable).
    await handle.chmod(mode).catch(() => undefined);
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDirectory(path.dirname(file));
}

/** Makes the rename itself durable. Some file systems refuse fsync on a directory; that is not an error. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (
      code !== 'EINVAL' &&
      code !== 'EISDIR' &&
      code !== 'EPERM' &&
      code !== 'EBADF' &&
      code !== 'EACCES' &&
      code !== 'ENOTSUP' &&
      code !== 'ENOSYS'
    )
      throw err;
  } finally {
    await handle?.close();
  }
}

/** Removes temp files that a crash mid-write left behind for the given file names. Returns what was removed. */
export async function removeStaleTempFiles(dir: string, names: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(dir)) {
    if (names.some((n) => entry.startsWith(`.${n}${TEMP_MARKER}`))) {
      await rm(path.join(dir, entry), { force: true });
      removed.push(entry);
    }
  }
  return removed;
}

/**
 * Renames an unusable file to NAME.corrupt-<UTC time, digits only> next to it, so a person can look at it later and
 * the agent starts without it; returns the new name. Throws what rename throws.
 */
export async function moveAside(file: string, nowMs: number): Promise<string> {
  const target = `${file}.corrupt-${new Date(nowMs).toISOString().replace(/[-:.]/g, '')}`;
  await rename(file, target);
  return target;
}
