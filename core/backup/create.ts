/**
 * createBackup: streams the database's data files into `{id}.tar` or `{id}.tar.gz` (sha256 per file computed
 * from the very bytes that go into the archive), writes `{id}.meta.json`, then applies retention.
 *
 * Consistency: every file is stat-ed before and after it is read and once more after the whole
 * archive is written; if any size, mtime or inode moved (LightRAG still writing), or the set of
 * data files changed, the attempt is thrown away and retried, and after the last retry the backup
 * is refused. Memory is flat: one chunk at a time flows file → sha256 → tar → (gzip) → disk.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import { Header, Pack, ReadEntry } from 'tar';
import {
  asBackupError,
  DatabaseFolderError,
  InterruptedRestoreError,
  NoDataFilesError,
  SourceChangedError,
} from './errors';
import { listDataFiles, type DataFile } from './files';
import {
  checkFreeSpace,
  fsyncDir,
  fsyncFile,
  pathExists,
  throwIfAborted,
  toolVersion,
  writeFileAtomic,
  type DiskFree,
} from './fsutil';
import { findRestoreFolders } from './journal';
import { BACKUP_FORMAT, BackupMetaSchema, type BackupFile, type BackupMeta } from './meta';
import {
  archiveName,
  archivePath,
  archivePaths,
  assertDatabaseName,
  backupsDir,
  makeBackupId,
  metaPath,
  PARTIAL_SUFFIX,
  type BackupCodec,
} from './naming';
import { DEFAULT_KEEP, pruneBackups } from './retention';
import { Tripwire } from './tripwire';
import { ParallelGzip } from './parallelGzip';
import { claimPartial, removeAbandonedPartials, removePartial } from './partials';

const CHUNK = 1024 * 1024;

export interface BackupProgress {
  /** 1 for the first try, 2.. for retries after a file changed */
  attempt: number;
  /** the file being read (relative path) */
  file: string;
  /** source bytes read so far in this attempt */
  bytesDone: number;
  bytesTotal: number;
}

export interface CreateBackupHooks {
  /** Test seam: runs after a file was opened and stat-ed, before its bytes are read. */
  beforeFileRead?: (rel: string, attempt: number) => void | Promise<void>;
}

export interface CreateBackupOptions {
  /** backups of this database to keep after this one (default 3) */
  keep?: number;
  /** how often to start over when a file changed during the backup (default 2) */
  retries?: number;
  /** pause before a retry, to let a writer finish (default 500 ms) */
  retryDelayMs?: number;
  signal?: AbortSignal;
  /** called for every chunk read (about every MiB): use it to heartbeat */
  onProgress?: (progress: BackupProgress) => void;
  /** how the tar stream is stored (default DEFAULT_BACKUP_CODEC) */
  codec?: BackupCodec;
  /** gzip level 1..9 when the codec is gzip (default 1: 2× the speed of 6 for ~8 % more bytes on embeddings, measured) */
  gzipLevel?: number;
  /** free space required beyond the source size (default 64 MiB + 1 %) */
  marginBytes?: number;
  diskFree?: DiskFree;
  now?: () => Date;
  hooks?: CreateBackupHooks;
}

export interface BackupResult {
  id: string;
  archivePath: string;
  metaPath: string;
  meta: BackupMeta;
  /** 1 when no file changed during the backup */
  attempts: number;
  /** ids deleted by retention */
  pruned: string[];
  /** retention failed (the backup itself is complete) */
  pruneError?: string;
  /** half-written archives of killed earlier backups, removed first */
  removedPartials: string[];
}

class FileChangedDuringRead extends Error {
  constructor(readonly rel: string) {
    super(`${rel} changed while it was read`);
  }
}

interface StreamedFile {
  record: BackupFile;
  stat: Stats;
  abs: string;
}

function moved(a: Stats, b: Stats): boolean {
  return a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ino !== b.ino || a.dev !== b.dev;
}

/**
 * The default archive codec: plain tar. Measured on the 30k-chunk bench store (1.08 GB, 2 cores,
 * see docs/benchmarks.md): gzip level 1 on parallel members shrinks it to 61 % (base64 float
 * vectors are ~80 % of the bytes and barely compress) for CPU that the whole backup waits on.
 */
export const DEFAULT_BACKUP_CODEC: BackupCodec = 'none';

/** Creates `{database}_{YYYYmmdd_HHMMSS}.tar` (or `.tar.gz`) + `.meta.json` in `<dbPath>/.backups` and prunes old backups. */
export async function createBackup(
  dbPath: string,
  database: string,
  options: CreateBackupOptions = {},
): Promise<BackupResult> {
  assertDatabaseName(database);
  const root = path.resolve(dbPath);
  try {
    return await runBackup(root, database, options);
  } catch (error) {
    throw asBackupError(error, `The backup of ${database} (${root})`, root);
  }
}

async function runBackup(root: string, database: string, options: CreateBackupOptions): Promise<BackupResult> {
  const keep = options.keep ?? DEFAULT_KEEP;
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`keep must be a whole number of at least 1 (got ${keep}).`);
  const st = await fsp.stat(root).catch(() => undefined);
  if (!st?.isDirectory())
    throw new DatabaseFolderError(
      `The database folder ${root} does not exist or is not a folder; check the registry entry or --path.`,
      root,
    );
  const interrupted = (await findRestoreFolders(root)).find((f) => f.hasJournal);
  if (interrupted) {
    throw new InterruptedRestoreError(
      `A restore of ${root} was interrupted (${interrupted.dir}); finish it with --rollback again (recoverInterruptedRestore) before taking a new backup.`,
      interrupted.dir,
    );
  }
  throwIfAborted(options.signal, `The backup of ${database}`);

  const dir = backupsDir(root);
  let files = await listFiles(root);
  // before the free-space check: a killed earlier attempt's partial holds the space this one needs
  const abandoned = await removeAbandonedPartials(root);
  await checkFreeSpace({
    dir: root,
    neededBytes: await totalSize(files),
    marginBytes: options.marginBytes,
    diskFree: options.diskFree,
    what: `a backup of ${database}`,
  });

  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  await fsp.chmod(dir, 0o700).catch(() => undefined);
  const createdAt = (options.now ?? (() => new Date()))();
  const codec = options.codec ?? DEFAULT_BACKUP_CODEC;
  const { id, partial } = await reserveId(root, database, createdAt, codec);
  const finalArchive = archivePath(root, id, codec);
  const finalMeta = metaPath(root, id);
  const retries = options.retries ?? 2;
  let renamed = false;
  try {
    let streamed: StreamedFile[] | undefined;
    let archive: { size: number; sha256: string } | undefined;
    let attempt = 1;
    for (; ; attempt++) {
      try {
        ({ streamed, archive } = await writeArchive(files, partial, attempt, codec, options));
        await verifyUnchanged(root, files, streamed);
        break;
      } catch (error) {
        if (!(error instanceof FileChangedDuringRead)) throw error;
        if (attempt > retries) {
          throw new SourceChangedError(
            `${path.join(root, error.rel)} kept changing while it was being backed up (${attempt} attempts); stop LightRAG / HybridRAG writing to ${root} and run the backup again.`,
            path.join(root, error.rel),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 500));
        throwIfAborted(options.signal, `The backup of ${database}`);
        files = await listFiles(root);
      }
    }
    await fsyncFile(partial);

    const meta: BackupMeta = BackupMetaSchema.parse({
      format: BACKUP_FORMAT,
      id,
      database,
      source_path: root,
      created_at: createdAt.toISOString(),
      tool_version: toolVersion(),
      file_count: streamed.length,
      total_size: streamed.reduce((sum, f) => sum + f.record.size, 0),
      files: streamed.map((f) => f.record),
      archive: { file: archiveName(id, codec), ...archive, codec },
    } satisfies BackupMeta);

    // The archive is renamed first and the meta file last: listing requires both, so a crash in
    // between leaves an unlisted archive, never a listed backup without its archive.
    await fsp.rename(partial, finalArchive);
    renamed = true;
    await removePartial(partial);
    await writeFileAtomic(finalMeta, `${JSON.stringify(meta, null, 2)}\n`, 0o600);
    await fsyncDir(dir);

    const result: BackupResult = {
      id,
      archivePath: finalArchive,
      metaPath: finalMeta,
      meta,
      attempts: attempt,
      pruned: [],
      removedPartials: abandoned,
    };
    try {
      result.pruned = await pruneBackups(root, database, { keep });
    } catch (error) {
      result.pruneError = error instanceof Error ? error.message : String(error);
    }
    return result;
  } catch (error) {
    await removePartial(partial).catch(() => undefined);
    if (renamed) {
      await fsp.rm(finalMeta, { force: true }).catch(() => undefined);
      await fsp.rm(finalArchive, { force: true }).catch(() => undefined);
    }
    throw asBackupError(error, `Backup ${id} of ${root}`, dir);
  }
}

async function listFiles(root: string): Promise<DataFile[]> {
  const files = await listDataFiles(root);
  if (files.length === 0) {
    throw new NoDataFilesError(
      `${root} holds no LightRAG data files (kv_store_*.json, vdb_*.json, ${'graph_chunk_entity_relation.graphml'}); check the database path.`,
      root,
    );
  }
  return files;
}

async function totalSize(files: DataFile[]): Promise<number> {
  let total = 0;
  for (const f of files) total += (await fsp.stat(f.abs)).size;
  return total;
}

/**
 * Claims `{id}.tar[.gz].partial` with O_EXCL, then checks no finished backup has that id. Because
 * a finished archive appears only by renaming its partial away, two processes in the same second
 * cannot both pass: the loser moves on to `_2`, `_3`, ...
 */
async function reserveId(
  root: string,
  database: string,
  date: Date,
  codec: BackupCodec,
): Promise<{ id: string; partial: string }> {
  for (let seq = 1; seq < 1000; seq++) {
    const id = makeBackupId(database, date, seq);
    const partial = `${archivePath(root, id, codec)}${PARTIAL_SUFFIX}`;
    if (!(await claimPartial(partial))) continue;
    const taken = await Promise.all([...archivePaths(root, id), metaPath(root, id)].map(pathExists));
    if (taken.some(Boolean)) {
      await removePartial(partial);
      continue;
    }
    return { id, partial };
  }
  throw new Error(`no free backup id for ${database} at ${date.toISOString()}`);
}

async function writeArchive(
  files: DataFile[],
  partial: string,
  attempt: number,
  codec: BackupCodec,
  options: CreateBackupOptions,
): Promise<{ streamed: StreamedFile[]; archive: { size: number; sha256: string } }> {
  const pack = new Pack({ portable: true });
  const archiveHash = createHash('sha256');
  let archiveSize = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      archiveHash.update(chunk);
      archiveSize += chunk.length;
      callback(null, chunk);
    },
  });
  const source = Readable.from(pack, { objectMode: false });
  const out = createWriteStream(partial, { flags: 'w', mode: 0o600 });
  // A failed pipeline (disk full, ...) must also wake a writer that waits for 'drain'.
  const failure = new Tripwire();
  const piped =
    codec === 'gzip'
      ? pipeline(
          source,
          new ParallelGzip(options.gzipLevel ?? 1, Math.min(4, Math.max(2, os.availableParallelism()))),
          tap,
          out,
        )
      : pipeline(source, tap, out);
  piped.catch((error: unknown) => failure.trip(error));

  const bytesTotal = await totalSize(files);
  let bytesDone = 0;
  const streamed: StreamedFile[] = [];
  try {
    for (const file of files) {
      throwIfAborted(options.signal, 'The backup');
      const handle = await fsp.open(file.abs, 'r');
      try {
        const before = await handle.stat();
        await options.hooks?.beforeFileRead?.(file.rel, attempt);
        const entry = new ReadEntry(
          new Header({
            path: file.rel,
            type: 'File',
            size: before.size,
            mode: before.mode & 0o7777,
            mtime: before.mtime,
          }),
        );
        pack.add(entry);
        const hash = createHash('sha256');
        let read = 0;
        if (before.size > 0) {
          // Exactly the size announced in the tar header; growth is caught by the stat below.
          const stream = handle.createReadStream({
            start: 0,
            end: before.size - 1,
            highWaterMark: CHUNK,
            autoClose: false,
          });
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            throwIfAborted(options.signal, 'The backup');
            hash.update(chunk);
            read += chunk.length;
            bytesDone += chunk.length;
            if (!entry.write(chunk)) await failure.wait(entry, 'drain');
            options.onProgress?.({ attempt, file: file.rel, bytesDone, bytesTotal });
          }
        }
        if (read !== before.size) throw new FileChangedDuringRead(file.rel);
        entry.end();
        const after = await fsp.stat(file.abs);
        if (moved(before, after)) throw new FileChangedDuringRead(file.rel);
        streamed.push({
          abs: file.abs,
          stat: before,
          record: {
            path: file.rel,
            size: before.size,
            sha256: hash.digest('hex'),
            mode: before.mode & 0o7777,
            mtime: before.mtime.toISOString(),
          },
        });
      } finally {
        await handle.close();
      }
    }
    pack.end();
    await piped;
  } catch (error) {
    source.destroy();
    out.destroy();
    await piped.catch(() => undefined);
    throw error;
  }
  return { streamed, archive: { size: archiveSize, sha256: archiveHash.digest('hex') } };
}

/** After the archive is complete: no file moved since it was read, and no data file appeared or vanished. */
async function verifyUnchanged(root: string, files: DataFile[], streamed: StreamedFile[]): Promise<void> {
  for (const f of streamed) {
    const now = await fsp.stat(f.abs).catch(() => undefined);
    if (!now || moved(f.stat, now)) throw new FileChangedDuringRead(f.record.path);
  }
  const again = await listDataFiles(root);
  const before = new Set(files.map((f) => f.rel));
  const added = again.find((f) => !before.has(f.rel));
  if (added || again.length !== files.length)
    throw new FileChangedDuringRead(added?.rel ?? files.find((f) => !again.some((a) => a.rel === f.rel))?.rel ?? '.');
}
