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
  return JSON.stringify({ pid: process.pid, host: os.hostname(), started_at: new Date().toISOString() } satisfies FileOwner);
}

/** The owner written in `file`; undefined when it is missing or unreadable. */
export async function readOwner(file: string): Promise<FileOwner | undefined> {
  try {
    const owner = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<FileOwner>;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string') return { pid: owner.pid, host: owner.host, started_at: String(owner.started_at ?? '') };
  } catch {
    // missing or unreadable: the caller decides what an unknown owner means
  }
  return undefined;
}

/** True only when the owner ran on this host and its process no longer runs. */
export function ownerIsGone(owner: FileOwner): boolean {
  return owner.host === os.hostname() && owner.pid !== process.pid && !isProcessAlive(owner.pid);
}
