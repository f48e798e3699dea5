/**
 * Names on disk: backup ids `{database}_{YYYYmmdd_HHMMSS}[_N]`, the `.backups` folder and the
 * file names derived from an id. Everything that turns user input into a path goes through here.
 */
import path from 'node:path';
import { InvalidBackupIdError, InvalidDatabaseNameError } from './errors';

export const BACKUPS_DIR = '.backups';
export const REPORTS_DIR = '.migration_reports';
/** How the tar stream is stored: gzip members (`.tar.gz`) or plain (`.tar`); see create.ts for the measured choice. */
export type BackupCodec = 'gzip' | 'none';
export const BACKUP_CODECS: readonly BackupCodec[] = ['none', 'gzip'];
/** The compressed archive's suffix (backups made before the codec was recorded are all gzip). */
export const ARCHIVE_SUFFIX = '.tar.gz';
export const ARCHIVE_SUFFIXES: Record<BackupCodec, string> = { gzip: ARCHIVE_SUFFIX, none: '.tar' };
export const META_SUFFIX = '.meta.json';
export const PARTIAL_SUFFIX = '.partial';
export const RESTORE_DIR_PREFIX = '.restore-';
export const DISPLACED_DIR_PREFIX = 'displaced-';

const DATABASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ID_TAIL = /_(\d{8})_(\d{6})(?:_([2-9]|[1-9]\d+))?$/;

export function isValidDatabaseName(name: string): boolean {
  return DATABASE_NAME.test(name) && !name.includes('..');
}

export function assertDatabaseName(name: string): void {
  if (!isValidDatabaseName(name)) {
    throw new InvalidDatabaseNameError(
      `The database name "${name}" cannot be used in a backup file name; use letters, digits, '.', '_' or '-' (at most 200 characters, no '..').`,
    );
  }
}

/** Local time, as the original tool names its backups: 20251219_213814. */
export function formatBackupTimestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}_${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

export function makeBackupId(database: string, date: Date, seq = 1): string {
  const base = `${database}_${formatBackupTimestamp(date)}`;
  return seq <= 1 ? base : `${base}_${seq}`;
}

export interface ParsedBackupId {
  id: string;
  database: string;
  /** YYYYmmdd_HHMMSS */
  timestamp: string;
  /** 1 for the first backup of a second, 2.. for the `_2`.. suffixes */
  seq: number;
}

/** Parses an id; undefined when it is not `{database}_{YYYYmmdd_HHMMSS}[_N]` with a valid database name. */
export function parseBackupId(id: string): ParsedBackupId | undefined {
  const m = ID_TAIL.exec(id);
  if (!m) return undefined;
  const database = id.slice(0, m.index);
  if (!isValidDatabaseName(database)) return undefined;
  const [, day = '', time = '', seq] = m;
  const month = Number(day.slice(4, 6));
  const date = Number(day.slice(6, 8));
  const hours = Number(time.slice(0, 2));
  const minutes = Number(time.slice(2, 4));
  const seconds = Number(time.slice(4, 6));
  if (month < 1 || month > 12 || date < 1 || date > 31 || hours > 23 || minutes > 59 || seconds > 60) return undefined;
  return { id, database, timestamp: `${day}_${time}`, seq: seq === undefined ? 1 : Number(seq) };
}

/** Validates an id that came from a user (CLI, signal) before it is used to build a path. */
export function assertBackupId(id: string): ParsedBackupId {
  if (id.includes('/') || id.includes('\\') || id.includes('..') || id.includes('\0')) {
    throw new InvalidBackupIdError(
      `The backup id "${id}" contains a path separator or '..'; pass the id exactly as --list-backups shows it (e.g. mydb_20251219_213814).`,
      id,
    );
  }
  const parsed = parseBackupId(id);
  if (!parsed) {
    throw new InvalidBackupIdError(
      `"${id}" is not a backup id of the form {database}_{YYYYmmdd_HHMMSS}; pass the id exactly as --list-backups shows it (e.g. mydb_20251219_213814).`,
      id,
    );
  }
  return parsed;
}

/** True when `id` is a backup of exactly this database (not of one whose name merely starts the same). */
export function isBackupOf(id: string, database: string): boolean {
  return parseBackupId(id)?.database === database;
}

/** Newest first: by timestamp, then by the `_N` suffix. */
export function compareNewestFirst(a: ParsedBackupId, b: ParsedBackupId): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? 1 : -1;
  if (a.seq !== b.seq) return b.seq - a.seq;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function backupsDir(dbPath: string): string {
  return path.join(dbPath, BACKUPS_DIR);
}

/** `{id}.tar.gz` or `{id}.tar` */
export function archiveName(id: string, codec: BackupCodec): string {
  return `${id}${ARCHIVE_SUFFIXES[codec]}`;
}

export function archivePath(dbPath: string, id: string, codec: BackupCodec): string {
  return path.join(backupsDir(dbPath), archiveName(id, codec));
}

/** Every archive name a backup id may have on disk (one per codec). */
export function archivePaths(dbPath: string, id: string): string[] {
  return BACKUP_CODECS.map((c) => archivePath(dbPath, id, c));
}

export function metaPath(dbPath: string, id: string): string {
  return path.join(backupsDir(dbPath), `${id}${META_SUFFIX}`);
}
