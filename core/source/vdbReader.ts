/**
 * Batch reader for nano-vectordb files: parses the planned slice of `data[]` and decodes the
 * matching matrix rows by reading only their base64 characters (or the per-record vectors when
 * the file has no matrix rows). Time and memory depend on the batch, not on its position.
 */
import { isUtf8 } from 'node:buffer';
import { DimensionConflictError, SourceFormatError } from './errors';
import { assertUnchanged, bufferPool, openForRead, readRangePooled, releasingAfter } from './io';
import type { VdbPlan } from './plan';
import type { JsonObject, VectorRecord } from './records';
import { FieldCuts, parseRecord, type FieldCutOptions } from './fieldCuts';
import { JsonScanner, WATCH_KEY, WATCH_VALUE, firstInvalidUtf8 } from './scan';
import { base64DecodedLength, base64RangeForBytes, decodeRecordVector, findInvalidBase64 } from './vectors';

/**
 * A batch whose records are parsed one at a time as they are iterated (once): the file slice is
 * read, its structure split, its UTF-8 and its matrix rows checked and decoded up front, and each
 * record's JSON is parsed only when the consumer reaches it. A consumer that encodes each record
 * and drops it (the loader) then holds one record's objects at a time instead of the batch's, which
 * keeps them in V8's young generation (measured in docs/benchmarks.md: most of the worker's GC).
 * A record that is not valid JSON throws when it is reached. With `utf8Fields`, long string values of
 * those fields come as `Utf8Text` (fieldCuts.ts); like the vectors, they are valid while the
 * iteration runs, to be encoded and dropped.
 */
export interface LazyBatch<T> {
  count: number;
  records: Iterable<T>;
}

export async function readVectorBatch(plan: VdbPlan, batchIndex: number): Promise<VectorRecord[]> {
  // the records outlive the iteration: their vectors get memory of their own, not a pooled buffer
  return [...(await readVectors(plan, batchIndex, {}, false)).records];
}

export interface OpenBatchOptions {
  /** record fields whose long string values are given as `Utf8Text` (the target's plain text columns) */
  utf8Fields?: readonly string[];
}

/** The batch parsed as it is iterated; its vectors are views of a pooled buffer, valid until the iteration ends. */
export function openVectorBatch(
  plan: VdbPlan,
  batchIndex: number,
  options: OpenBatchOptions = {},
): Promise<LazyBatch<VectorRecord>> {
  return readVectors(plan, batchIndex, options, true);
}

async function readVectors(
  plan: VdbPlan,
  batchIndex: number,
  options: OpenBatchOptions,
  pooledVectors: boolean,
): Promise<LazyBatch<VectorRecord>> {
  const batch = plan.batches[batchIndex];
  if (!batch) throw new RangeError(`${plan.file} has ${plan.batches.length} batches; there is no batch ${batchIndex}.`);
  const file = plan.file;
  const fh = await openForRead(file);
  let buf: Buffer | undefined;
  let matrix: Buffer | undefined;
  try {
    await assertUnchanged(fh, file, plan);
    buf = await readRangePooled(fh, batch.startOffset, batch.endOffset);
    // the per-record vector is not used when the matrix holds the vectors: checked, never decoded
    const cutOptions: FieldCutOptions = {
      ...options,
      ...(plan.vectorSource === 'matrix' ? { dropFields: ['vector'] } : {}),
    };
    const cuts = FieldCuts.wanted(cutOptions) ? new FieldCuts(cutOptions, batch.recordCount) : undefined;
    const offsets = splitDataSlice(file, batch.startOffset, buf, batch.firstRecord, batch.recordCount, cuts);
    let rows: Float32Array | undefined;
    if (plan.vectorSource === 'matrix' && batch.recordCount > 0) {
      const D = plan.dim;
      const { charStart, charEnd, skip } = base64RangeForBytes(
        batch.firstRecord * D * 4,
        (batch.firstRecord + batch.recordCount) * D * 4,
        plan.matrixLength,
      );
      const chars = await readRangePooled(fh, plan.matrixOffset + charStart, plan.matrixOffset + charEnd);
      try {
        const isEnd = charEnd === plan.matrixLength;
        // decoded straight into the batch's vector memory, placed so that row 0 is 4-byte aligned:
        // each record's vector is then a view of its row (no copy). Pooled for the loader, like the
        // file slices: an ArrayBuffer per batch made V8 start a full collection every few batches
        const lead = (4 - (skip % 4)) % 4;
        const size = Math.floor(chars.length / 4) * 3 + 4;
        matrix = pooledVectors ? bufferPool.acquire(lead + size) : Buffer.allocUnsafeSlow(lead + size);
        const decoded = decodeBase64Pieces(chars, matrix.subarray(lead, lead + size));
        // Node's decoder skips what is not base64, so any such character makes the output shorter
        // than the text's length says: a cheap check (decoding is ~5× faster than scanning the
        // characters), and the slow scan only to name the byte.
        const expected = isEnd
          ? chars.length % 4 === 0
            ? base64DecodedLength(chars.length, chars.subarray(-2))
            : -1
          : (chars.length / 4) * 3;
        if (decoded.length !== expected) {
          const found = findInvalidBase64(chars, isEnd);
          const bad = found >= 0 ? found : chars.length;
          throw new SourceFormatError(
            'INVALID_BASE64',
            `${file}: "matrix" is not valid base64 at byte ${plan.matrixOffset + charStart + bad}; the file is damaged — restore it from a backup.`,
            {
              file,
              byteOffset: plan.matrixOffset + charStart + bad,
            },
          );
        }
        if (decoded.length - skip < batch.recordCount * D * 4) {
          throw new SourceFormatError(
            'MATRIX_LENGTH',
            `${file}: "matrix" ends before the rows of records ${batch.firstRecord}–${batch.firstRecord + batch.recordCount - 1}; the file is truncated or changed — plan the migration again or restore it from a backup.`,
            {
              file,
              recordIndex: batch.firstRecord,
            },
          );
        }
        rows = new Float32Array(matrix.buffer, matrix.byteOffset + lead + skip, batch.recordCount * D);
      } finally {
        bufferPool.release(chars);
      }
    }
    const records = releasingAfter(vectorRecords(plan, batchIndex, buf, offsets, rows, cuts), [
      buf,
      ...(matrix && pooledVectors ? [matrix] : []),
    ]);
    buf = matrix = undefined; // owned by the iterator from here
    return { count: batch.recordCount, records };
  } finally {
    if (buf) bufferPool.release(buf);
    if (matrix && pooledVectors) bufferPool.release(matrix);
    await fh.close();
  }
}

/** Parses and yields the records of a split slice. */
function* vectorRecords(
  plan: VdbPlan,
  batchIndex: number,
  buf: Buffer,
  offsets: Float64Array,
  rows: Float32Array | undefined,
  cuts: FieldCuts | undefined,
): Generator<VectorRecord> {
  const batch = plan.batches[batchIndex]!;
  for (let i = 0; i < batch.recordCount; i++) {
    const start = offsets[2 * i]!;
    const end = offsets[2 * i + 1]!;
    const rec = parseRecordAt(plan.file, start, batch.firstRecord + i, () =>
      parseRecord(buf, batch.startOffset, start, end, cuts, i),
    );
    yield toVectorRecord(plan, rec, batch.firstRecord + i, rows, i);
  }
}

/**
 * One record with its vector. NaN / ±Inf elements pass through: pgvector cannot store them, so
 * the loader rejects such a record on its own (listed with its id in the reject table and the
 * verification report) and the rest of the migration goes on.
 */
function toVectorRecord(
  plan: VdbPlan,
  rec: JsonObject,
  index: number,
  rows: Float32Array | undefined,
  row: number,
): VectorRecord {
  const file = plan.file;
  const D = plan.dim;
  const { __id__: id, vector: recVector, ...fields } = rec;
  if (typeof id !== 'string') {
    throw new SourceFormatError(
      'INVALID_RECORD',
      `${file}: record ${index} has no string "__id__"; restore the file from a backup.`,
      { file, recordIndex: index },
    );
  }
  let vector: Float32Array;
  if (rows) {
    vector = rows.subarray(row * D, (row + 1) * D);
  } else {
    if (typeof recVector !== 'string') {
      throw new SourceFormatError(
        'EMPTY_MATRIX',
        `${file}: record ${index} ("${id}") has no per-record "vector" and the matrix is empty, so its embedding is missing; restore the file from a backup.`,
        {
          file,
          recordIndex: index,
        },
      );
    }
    vector = decodeRecordVector(recVector, file, index);
    if (vector.length !== D) {
      throw new DimensionConflictError(
        `${file}: the "vector" of record ${index} ("${id}") has ${vector.length} dimensions but the file's dimension is ${D}; the file mixes embedding models — re-index it with one model.`,
        {
          file,
          recordIndex: index,
        },
      );
    }
  }
  return { id, fields, vector };
}

/** Parses a slice of `data[]` records (`{...}, {...}`). Exported for tests. */
export function parseDataSlice(
  file: string,
  base: number,
  buf: Buffer,
  firstRecord: number,
  expected: number,
): JsonObject[] {
  const offsets = splitDataSlice(file, base, buf, firstRecord, expected);
  const out: JsonObject[] = [];
  for (let i = 0; i < expected; i++)
    out.push(
      parseRecordAt(file, offsets[2 * i]!, firstRecord + i, () =>
        parseRecord(buf, base, offsets[2 * i]!, offsets[2 * i + 1]!),
      ),
    );
  return out;
}

/**
 * Checks the slice is UTF-8 and splits it into records with the structure scanner (records are
 * parsed one by one later: many small short-lived strings are collected by the young-generation
 * GC, whereas one batch-sized string would sit in V8's large-object space until a full GC).
 * Returns [start, end) absolute offsets, two per record.
 */
function splitDataSlice(
  file: string,
  base: number,
  buf: Buffer,
  firstRecord: number,
  expected: number,
  cuts?: FieldCuts,
): Float64Array {
  if (!isUtf8(buf)) {
    const at = base + firstInvalidUtf8(buf);
    throw new SourceFormatError('INVALID_UTF8', `${file} is not valid UTF-8 at byte ${at}; restore it from a backup.`, {
      file,
      byteOffset: at,
    });
  }
  // a typed array, not a growing number[]: it lives as long as the batch (see KvSpans in kvReader.ts)
  const offsets = new Float64Array(2 * expected);
  let count = 0;
  let start = 0;
  const scanner = new JsonScanner(
    file,
    {
      onKey(_d, _start, raw) {
        cuts!.onKey(raw);
      },
      onValueStart(d, offset, byte) {
        if (d === 2) start = offset;
        else cuts!.onValueStart(offset, byte);
      },
      onValueEnd(d, end) {
        if (d === 3) return cuts!.onValueEnd(end);
        if (count < expected) {
          offsets[2 * count] = start;
          offsets[2 * count + 1] = end;
        }
        count++;
        cuts?.endRecord();
      },
    },
    cuts
      ? [
          [2, WATCH_VALUE],
          [3, WATCH_KEY | WATCH_VALUE],
        ]
      : [[2, WATCH_VALUE]],
    base,
    { stack: ['object', 'array'], expect: 'value' },
    () => firstRecord + count,
  );
  scanner.write(buf);
  if (count !== expected) {
    throw new SourceFormatError(
      'INVALID_JSON',
      `${file}: the batch at byte ${base} holds ${count} records where the plan expects ${expected}; the file changed or is damaged — plan the migration again.`,
      {
        file,
        byteOffset: base,
      },
    );
  }
  return offsets;
}

/** The record `index` starting at absolute `start`, read by `parse`, which must give an object. */
function parseRecordAt(file: string, start: number, index: number, parse: () => unknown): JsonObject {
  let r: unknown;
  try {
    r = parse();
  } catch (e) {
    throw new SourceFormatError(
      'INVALID_JSON',
      `${file}: record ${index} at byte ${start} is not valid JSON (${(e as Error).message}); the file is damaged — restore it from a backup.`,
      {
        file,
        recordIndex: index,
        byteOffset: start,
      },
    );
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r)) {
    throw new SourceFormatError(
      'INVALID_RECORD',
      `${file}: record ${index} of "data" is not an object; restore the file from a backup.`,
      { file, recordIndex: index },
    );
  }
  return r as JsonObject;
}

/** base64 → bytes in 64 KiB pieces, so no batch-sized JS string is ever created. */
function decodeBase64Pieces(chars: Buffer, out: Buffer): Buffer {
  const PIECE = 64 * 1024; // a multiple of 4
  let written = 0;
  for (let i = 0; i < chars.length; i += PIECE) {
    written += out.write(chars.toString('latin1', i, Math.min(chars.length, i + PIECE)), written, 'base64');
  }
  return out.subarray(0, written);
}
