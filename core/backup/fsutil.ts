/** Small file-system helpers shared by backup and restore: durability, free space, cancellation. */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { BackupAbortedError, InsufficientSpaceError } from './errors';

/** Free bytes available to this (unprivileged) process on the file system holding `dir`. */
export type DiskFree = (dir: string) => Promise<number>;

export const statfsFree: DiskFree = async (dir) => {
  const s = await fsp.statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
};

/** Headroom kept free beyond the bytes a backup or restore writes: 64 MiB plus 1 %. */
export function defaultMargin(bytes: number): number {
  return 64 * 1024 * 1024 + Math.ceil(bytes / 100);
}

export async function checkFreeSpace(opts: {
  dir: string;
  neededBytes: number;
  marginBytes?: number | undefined;
  diskFree?: DiskFree | undefined;
  what: string;
}): Promise<void> {
  const margin = opts.marginBytes ?? defaultMargin(opts.neededBytes);
  const free = await (opts.diskFree ?? statfsFree)(opts.dir);
  const needed = opts.neededBytes + margin;
  if (free < needed) {
    throw new InsufficientSpaceError(
      `Not enough free disk space for ${opts.what} in ${opts.dir}: ${mib(needed)} needed (${mib(opts.neededBytes)} plus ${mib(margin)} headroom), ${mib(free)} free; free some space and run again.`,
      opts.dir,
      needed,
      free,
    );
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Makes renames and creations inside `dir` durable (best effort where directories cannot be opened). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // some file systems refuse fsync on a directory; the rename itself is still atomic
  } finally {
    await handle?.close();
  }
}

export async function fsyncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp file + fsync + rename: readers see the old content or the new one, never a torn file. */
export async function writeFileAtomic(file: string, text: string, mode = 0o600): Promise<void> {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await fsp.open(temp, 'wx', mode);
    try {
      await handle.writeFile(text);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(path.dirname(file));
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export function abortedError(what: string): BackupAbortedError {
  return new BackupAbortedError(`${what} was cancelled; nothing half-written was left behind.`);
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortedError(what);
}

let cachedVersion: string | undefined;

/** This tool's version from its package.json (found upwards from this file, in source and in dist/). */
export function toolVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = '0.0.0-unknown';
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'hybridrag-migrate' && typeof pkg.version === 'string') {
          cachedVersion = pkg.version;
          break;
        }
      } catch {
        // not ours; keep looking upwards
      }
    }
    if (path.dirname(dir) === dir) break;
  }
  return cachedVersion;
}
