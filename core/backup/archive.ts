/**
 * Reads a backup archive once, streaming, and proves it matches its meta file: every entry a
 * plain file at a safe path that the meta lists, exactly once, with the recorded size and sha256,
 * nothing missing, and the archive's own size and sha256 as recorded. An optional sink receives
 * each file's bytes as they are checked (restore writes them into its temp folder).
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import {
  BackupError,
  BackupNotFoundError,
  ChecksumMismatchError,
  CorruptBackupError,
  errnoOf,
  UnsafeArchiveEntryError,
} from './errors';
import { isSafeDataPath } from './files';
import { abortedError } from './fsutil';
import { codecOf, type BackupFile, type BackupMeta } from './meta';
import { archivePath } from './naming';
import { Tripwire } from './tripwire';

const CHUNK = 1024 * 1024;

export interface FileSink {
  write(chunk: Buffer): Promise<void>;
  /** all bytes were written and matched the meta */
  close(): Promise<void>;
  /** the file is refused or the read failed */
  abort(): Promise<void>;
}

export interface ArchiveProgress {
  /** archive bytes read (compressed when the archive is) */
  bytesDone: number;
  bytesTotal: number;
}

export interface ReadArchiveOptions {
  sink?: (file: BackupFile) => Promise<FileSink>;
  signal?: AbortSignal;
  onProgress?: (progress: ArchiveProgress) => void;
}

function escapes(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p) || p.split(/[\\/]/).includes('..');
}

const KIND: Record<string, string> = {
  SymbolicLink: 'a symbolic link',
  Link: 'a hard link',
  CharacterDevice: 'a device',
  BlockDevice: 'a device',
  FIFO: 'a FIFO',
  Directory: 'a folder',
};

export async function readArchive(root: string, meta: BackupMeta, options: ReadArchiveOptions = {}): Promise<void> {
  const id = meta.id;
  const codec = codecOf(meta);
  const file = archivePath(root, id, codec);
  const stat = await fsp.stat(file).catch(() => undefined);
  if (!stat?.isFile())
    throw new BackupNotFoundError(
      `The archive ${file} of backup ${id} is missing; restore another backup (see --list-backups).`,
      id,
      file,
    );

  const expected = new Map(meta.files.map((f) => [f.path, f]));
  const seen = new Set<string>();
  const corrupt = (why: string) =>
    new CorruptBackupError(
      `The archive ${file} of backup ${id} ${why}; it cannot be restored, so restore another backup.`,
      id,
      file,
    );

  const failure = new Tripwire();
  const fail = (error: unknown) => failure.trip(error);

  const handleEntry = async (entry: ReadEntry): Promise<void> => {
    const p = entry.path;
    if (escapes(p))
      throw new UnsafeArchiveEntryError(
        `The archive ${file} of backup ${id} holds the entry "${p}", which would be written outside the database folder; it is refused, so restore another backup.`,
        id,
        p,
      );
    const kind = KIND[entry.type];
    if (entry.type !== 'File' && entry.type !== 'OldFile') {
      throw new UnsafeArchiveEntryError(
        `The archive ${file} of backup ${id} holds "${p}", which is ${kind ?? `an entry of type ${entry.type}`}, not a plain file; it is refused, so restore another backup.`,
        id,
        p,
      );
    }
    if (!isSafeDataPath(p))
      throw new UnsafeArchiveEntryError(
        `The archive ${file} of backup ${id} holds "${p}", which is not a LightRAG data file; it is refused, so restore another backup.`,
        id,
        p,
      );
    const want = expected.get(p);
    if (!want) throw corrupt(`holds "${p}", which its meta file does not list`);
    if (seen.has(p)) throw corrupt(`holds "${p}" twice`);
    seen.add(p);
    if (entry.size !== want.size) {
      throw new ChecksumMismatchError(
        `${p} in backup ${id} has ${entry.size} bytes but its meta file records ${want.size}; the backup is damaged, so restore another backup.`,
        id,
        p,
      );
    }
    const sink = await options.sink?.(want);
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        failure.check();
        hash.update(chunk);
        bytes += chunk.length;
        await sink?.write(chunk);
      }
      if (bytes !== want.size || hash.digest('hex') !== want.sha256) {
        throw new ChecksumMismatchError(
          `${p} in backup ${id} does not match the sha256 its meta file records; the backup is damaged or was modified, so restore another backup.`,
          id,
          p,
        );
      }
      await sink?.close();
    } catch (error) {
      await sink?.abort();
      throw error;
    }
  };

  const parser = new Parser({ strict: true });
  const handlers: Promise<void>[] = [];
  const active = new Set<ReadEntry>();
  parser.on('entry', (entry: ReadEntry) => {
    active.add(entry);
    handlers.push(
      handleEntry(entry)
        .catch((error: unknown) => {
          fail(error);
          entry.resume();
        })
        .finally(() => active.delete(entry)),
    );
  });
  // Entries tar itself skips (unknown types, oversized pax headers) are refused rather than ignored.
  parser.on('ignoredEntry', (entry: ReadEntry) =>
    fail(
      new UnsafeArchiveEntryError(
        `The archive ${file} of backup ${id} holds "${entry.path}" of unsupported type ${entry.type}; it is refused, so restore another backup.`,
        id,
        entry.path,
      ),
    ),
  );
  parser.on('error', (error: Error) => fail(corrupt(`is not a valid tar archive (${error.message})`)));
  parser.on('warn', (_code: string, message: string) => fail(corrupt(`is not a valid tar archive (${message})`)));

  const classify = (error: unknown): unknown => {
    if (error instanceof BackupError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' || code === 'Z_STREAM_ERROR')
      return corrupt(`is truncated or not a gzip file (${(error as Error).message})`);
    return corrupt(`could not be read (${errnoOf(error)})`);
  };

  const archiveHash = createHash('sha256');
  let archiveSize = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      archiveHash.update(chunk);
      archiveSize += chunk.length;
      options.onProgress?.({ bytesDone: archiveSize, bytesTotal: stat.size });
      callback(null, chunk);
    },
  });

  try {
    const consume = async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        // Tripped here rather than thrown: pipeline() would report its own AbortError instead.
        if (options.signal?.aborted) failure.trip(abortedError(`Reading backup ${id}`));
        failure.check();
        if (!parser.write(chunk)) await failure.wait(parser, 'drain');
      }
      const parsed = failure.wait(parser, 'end');
      parser.end();
      await parsed;
    };
    const input = createReadStream(file, { highWaterMark: CHUNK });
    if (codec === 'gzip') await pipeline(input, tap, zlib.createGunzip(), consume);
    else await pipeline(input, tap, consume);
    await Promise.all(handlers);
  } catch (error) {
    failure.trip(classify(error));
    // An entry whose bytes will never arrive (the input stopped) must not keep its reader waiting.
    for (const entry of active) entry.destroy();
    await Promise.allSettled(handlers);
  }
  failure.check();

  const missing = meta.files.find((f) => !seen.has(f.path));
  if (missing) throw corrupt(`lacks "${missing.path}", which its meta file lists`);
  if (archiveSize !== meta.archive.size || archiveHash.digest('hex') !== meta.archive.sha256) {
    throw corrupt(`is not the archive its meta file recorded (size or sha256 differ)`);
  }
}
