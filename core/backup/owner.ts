/**
 * Owner files: which process (pid, host) holds a file of `.backups` — the restore lock, or a
 * backup being written — so a later process can tell one left by a dead process from a live one.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { isProcessAlive } from '../processes';

export interface FileOwner {
  pid: number;
  host: string;
  started_at: string;
}

/** This process as an owner, as JSON. */
export function ownerRecord(): string {
  return JSON.stringify({
    pid: process.pid,
    host: os.hostname(),
    started_at: new Date().toISOString(),
  } satisfies FileOwner);
}

/** The owner written in `file`; undefined when it is missing or unreadable. */
export async function readOwner(file: string): Promise<FileOwner | undefined> {
  try {
    const owner = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<FileOwner>;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string')
      return { pid: owner.pid, host: owner.host, started_at: String(owner.started_at ?? '') };
  } catch {
    // missing or unreadable: the caller decides what an unknown owner means
  }
  return undefined;
}

/** When this process started (ms since the epoch). */
const PROCESS_STARTED_AT = Date.now() - process.uptime() * 1000;

/**
 * True only when the owner ran on this host and its process no longer runs. A record with this
 * process's pid but written before this process started is gone too: a restarted container's
 * worker is pid 1 again, and pids are reused after a reboot.
 */
export function ownerIsGone(owner: FileOwner): boolean {
  if (owner.host !== os.hostname()) return false;
  if (owner.pid === process.pid) return Date.parse(owner.started_at) < PROCESS_STARTED_AT - 1000;
  return !isProcessAlive(owner.pid);
}
