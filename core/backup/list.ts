/** The backups of one database, newest first, and the table the CLI prints for them. */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { asBackupError, BackupError } from './errors';
import { readMeta } from './meta';
import {
  archiveName,
  archivePath,
  BACKUP_CODECS,
  assertDatabaseName,
  backupsDir,
  compareNewestFirst,
  META_SUFFIX,
  metaPath,
  parseBackupId,
  type ParsedBackupId,
} from './naming';

export interface BackupInfo {
  id: string;
  database: string;
  /** ISO time from the meta file (or derived from the id when the meta file is damaged) */
  createdAt: string;
  fileCount: number;
  /** bytes of the backed-up files */
  totalSize: number;
  /** bytes of the archive on disk */
  archiveSize: number;
  /** the .tar or .tar.gz */
  path: string;
  metaPath: string;
  /** set when the meta file is damaged: the backup is listed (and counted by retention) but cannot be restored */
  problem?: string;
}

/** Ids of `database`'s complete backups (archive and meta both present), newest first. */
export async function listBackupIds(dbPath: string, database: string): Promise<ParsedBackupId[]> {
  let names: string[];
  try {
    names = await fsp.readdir(backupsDir(dbPath));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const present = new Set(names);
  const ids: ParsedBackupId[] = [];
  for (const name of names) {
    if (!name.endsWith(META_SUFFIX)) continue;
    const parsed = parseBackupId(name.slice(0, -META_SUFFIX.length));
    if (parsed?.database === database && BACKUP_CODECS.some((c) => present.has(archiveName(parsed.id, c))))
      ids.push(parsed);
  }
  return ids.sort(compareNewestFirst);
}

function idTimeIso(parsed: ParsedBackupId): string {
  const t = parsed.timestamp;
  const local = new Date(
    Number(t.slice(0, 4)),
    Number(t.slice(4, 6)) - 1,
    Number(t.slice(6, 8)),
    Number(t.slice(9, 11)),
    Number(t.slice(11, 13)),
    Number(t.slice(13, 15)),
  );
  return local.toISOString();
}

/** `database`'s backups in `dbPath/.backups`, newest first; another database's backups are ignored. */
export async function listBackups(dbPath: string, database: string): Promise<BackupInfo[]> {
  assertDatabaseName(database);
  const root = path.resolve(dbPath);
  try {
    return await collect(root, database);
  } catch (error) {
    throw asBackupError(error, `Listing the backups in ${backupsDir(root)}`, backupsDir(root));
  }
}

async function collect(root: string, database: string): Promise<BackupInfo[]> {
  const result: BackupInfo[] = [];
  for (const parsed of await listBackupIds(root, database)) {
    let file = '';
    let archiveSize = -1;
    for (const codec of BACKUP_CODECS) {
      file = archivePath(root, parsed.id, codec);
      const st = await fsp.stat(file).catch(() => undefined);
      if (st) {
        archiveSize = st.size;
        break;
      }
    }
    if (archiveSize < 0) continue; // removed since readdir (e.g. by a concurrent prune)
    const base = { id: parsed.id, database, path: file, metaPath: metaPath(root, parsed.id), archiveSize };
    try {
      const meta = await readMeta(root, parsed.id);
      if (!meta) continue;
      result.push({ ...base, createdAt: meta.created_at, fileCount: meta.file_count, totalSize: meta.total_size });
    } catch (error) {
      if (!(error instanceof BackupError)) throw error;
      result.push({ ...base, createdAt: idTimeIso(parsed), fileCount: 0, totalSize: 0, problem: error.message });
    }
  }
  return result;
}

/** `id | N files | size KB | created` rows (size = the archive on disk), one line per backup. */
export function formatBackupTable(backups: readonly BackupInfo[]): string {
  if (backups.length === 0) return 'No backups.';
  const rows = backups.map((b) => [
    b.id,
    b.problem ? 'damaged' : `${b.fileCount} files`,
    `${(b.archiveSize / 1024).toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 })} KB`,
    b.createdAt.replace(/\.\d+Z$/, 'Z'),
  ]);
  const header = ['ID', 'FILES', 'SIZE', 'CREATED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join(' | ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
