/**
 * Which files a backup holds: LightRAG's data files (and `.migration_state.json`) in the database
 * folder and in its workspace sub-folders one level deep. Hidden folders (`.backups`,
 * `.migration_reports`, `.restore-*`) are never entered.
 */
import { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';

export const STATE_FILE_NAME = '.migration_state.json';
export const GRAPH_FILE_NAME = 'graph_chunk_entity_relation.graphml';

export function isBackedUpFileName(name: string): boolean {
  return (
    name === GRAPH_FILE_NAME ||
    name === STATE_FILE_NAME ||
    /^kv_store_.+\.json$/.test(name) ||
    /^vdb_.+\.json$/.test(name)
  );
}

const WORKSPACE_NAME = /^[^./\\\0][^/\\\0]*$/;

/**
 * A path as stored in an archive and in meta.json: `file` or `workspace/file`, `/`-separated,
 * naming a backed-up file. Anything else (absolute, `..`, deeper, hidden folder) is refused.
 */
export function isSafeDataPath(rel: string): boolean {
  if (rel.length === 0 || rel.length > 1024 || rel.includes('\\') || rel.includes('\0')) return false;
  const parts = rel.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1] ?? '';
  if (!isBackedUpFileName(name)) return false;
  if (parts.length === 2) {
    const workspace = parts[0] ?? '';
    if (!WORKSPACE_NAME.test(workspace) || workspace === '..') return false;
  }
  return true;
}

/** The on-disk path of a safe relative path inside `root`. */
export function resolveInside(root: string, rel: string): string {
  const abs = path.resolve(root, ...rel.split('/'));
  const base = path.resolve(root);
  if (!abs.startsWith(base + path.sep)) throw new Error(`${rel} is outside ${root}`);
  return abs;
}

export interface DataFile {
  /** `/`-separated path relative to the database folder */
  rel: string;
  abs: string;
}

async function readDir(dir: string): Promise<Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw error;
  }
}

async function isRegularFile(dir: string, entry: Dirent): Promise<boolean> {
  if (entry.isFile()) return true;
  // A data file that is a symlink is backed up by content (and restored as a plain file).
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await fsp.stat(path.join(dir, entry.name))).isFile();
  } catch {
    return false;
  }
}

/** The files a backup of `dbPath` holds, sorted by relative path. */
export async function listDataFiles(dbPath: string): Promise<DataFile[]> {
  const found: DataFile[] = [];
  for (const entry of await readDir(dbPath)) {
    if (isBackedUpFileName(entry.name) && (await isRegularFile(dbPath, entry))) {
      found.push({ rel: entry.name, abs: path.join(dbPath, entry.name) });
    } else if (entry.isDirectory() && WORKSPACE_NAME.test(entry.name)) {
      const sub = path.join(dbPath, entry.name);
      for (const inner of await readDir(sub)) {
        if (isBackedUpFileName(inner.name) && (await isRegularFile(sub, inner))) {
          found.push({ rel: `${entry.name}/${inner.name}`, abs: path.join(sub, inner.name) });
        }
      }
    }
  }
  return found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
