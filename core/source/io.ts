/**
 * File access for the source side: positioned reads, chunked streaming, and the cheap
 * fingerprint that tells a batch read whether the file changed since planning.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { FileChangedError, SourceError } from './errors';

export const CHUNK_SIZE = 4 * 1024 * 1024;
const FINGERPRINT_SPAN = 64 * 1024;

export interface FileIdentity {
  size: number;
  mtimeMs: number;
  /** sha256 over the size and the first and last 64 KiB */
  fingerprint: string;
}

function ioError(file: string, e: unknown): SourceError {
  const err = e as NodeJS.ErrnoException;
  const what =
    err.code === 'ENOENT'
      ? 'does not exist'
      : err.code === 'EACCES'
        ? 'cannot be read (permission denied)'
        : `cannot be read (${err.message})`;
  return new SourceError('IO_ERROR', `${file} ${what}; check the path and its permissions.`, { file });
}

export async function openForRead(file: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, 'r');
  } catch (e) {
    throw ioError(file, e);
  }
}

/** Reads exactly [start, end) (or less at end of file). */
export async function readRange(fh: fsp.FileHandle, start: number, end: number): Promise<Buffer> {
  const len = Math.max(0, end - start);
  const buf = Buffer.allocUnsafe(len);
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === len ? buf : buf.subarray(0, done);
}

export async function fileIdentity(fh: fsp.FileHandle): Promise<FileIdentity> {
  const st = await fh.stat();
  const size = st.size;
  const hash = createHash('sha256');
  hash.update(String(size));
  hash.update(await readRange(fh, 0, Math.min(size, FINGERPRINT_SPAN)));
  if (size > FINGERPRINT_SPAN)
    hash.update(await readRange(fh, Math.max(FINGERPRINT_SPAN, size - FINGERPRINT_SPAN), size));
  return { size, mtimeMs: st.mtimeMs, fingerprint: hash.digest('hex') };
}

/** Fails with FileChangedError when the open file differs from what was planned. */
export async function assertUnchanged(fh: fsp.FileHandle, file: string, planned: FileIdentity): Promise<void> {
  const now = await fileIdentity(fh);
  const what: string[] = [];
  if (now.size !== planned.size) what.push(`size ${planned.size} → ${now.size}`);
  if (now.mtimeMs !== planned.mtimeMs) what.push('modification time');
  if (now.fingerprint !== planned.fingerprint) what.push('content');
  if (what.length) {
    throw new FileChangedError(
      `${file} changed since the migration was planned (${what.join(', ')}); stop LightRAG while migrating and start the migration again so it re-plans.`,
      file,
    );
  }
}

/** Reads into `buf` from `position`; returns the filled part. */
async function readInto(fh: fsp.FileHandle, buf: Buffer, position: number, len: number): Promise<Buffer> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, done, len - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/**
 * Streams [start, end) in chunks of `chunkSize`. Two buffers are reused alternately (the next read
 * is in flight while a chunk is processed), so memory stays constant: `onChunk` must copy anything
 * it keeps beyond the call.
 */
export async function forEachChunk(
  fh: fsp.FileHandle,
  start: number,
  end: number,
  onChunk: (chunk: Buffer, offset: number) => void,
  chunkSize = CHUNK_SIZE,
): Promise<void> {
  const size = Math.max(1, Math.min(chunkSize, end - start));
  const bufs = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  let which = 0;
  let pos = start;
  let pending: Promise<Buffer> | undefined =
    pos < end ? readInto(fh, bufs[0]!, pos, Math.min(size, end - pos)) : undefined;
  while (pending) {
    const chunk = await pending;
    const at = pos;
    pos += chunk.length;
    which ^= 1;
    pending = chunk.length > 0 && pos < end ? readInto(fh, bufs[which]!, pos, Math.min(size, end - pos)) : undefined;
    if (chunk.length === 0) break;
    try {
      onChunk(chunk, at);
    } catch (e) {
      if (pending) await pending.catch(() => undefined);
      throw e;
    }
  }
}

/**
 * A small pool of reusable byte buffers for batch reads. Batch-sized Buffers live outside the V8
 * heap and are freed only when a GC runs; reusing them keeps RSS flat across batches, and V8 counts
 * each new one towards starting a full collection (measured: one every few batches without the
 * pool, docs/benchmarks.md). Safe with concurrent reads: a buffer is owned by one caller between
 * acquire and release.
 */
const MAX_FREE_BUFFERS = 8;
class BufferPool {
  private free: Buffer[] = [];
  /** the smallest free buffer that fits, else a new one (byteOffset 0: its own ArrayBuffer) */
  acquire(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++)
      if (this.free[i]!.length >= size && (best < 0 || this.free[i]!.length < this.free[best]!.length)) best = i;
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    return Buffer.allocUnsafeSlow(Math.max(size, 64 * 1024));
  }
  release(buf: Buffer): void {
    const whole = Buffer.from(buf.buffer, 0, buf.buffer.byteLength);
    if (this.free.length < MAX_FREE_BUFFERS) this.free.push(whole);
  }
}
export const bufferPool = new BufferPool();

/** `records`, with `buffers` given back to the pool when the iteration ends (however it ends). */
export function* releasingAfter<T>(records: Iterable<T>, buffers: Buffer[]): Generator<T> {
  try {
    yield* records;
  } finally {
    for (const b of buffers) bufferPool.release(b);
  }
}

/** Reads [start, end) into a pooled buffer; call `bufferPool.release` when done with it. */
export async function readRangePooled(fh: fsp.FileHandle, start: number, end: number): Promise<Buffer> {
  const len = Math.max(0, end - start);
  const buf = bufferPool.acquire(len);
  return readInto(fh, buf, start, len);
}
