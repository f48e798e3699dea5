/**
 * Batch reader for nano-vectordb files: parses the planned slice of `data[]` and decodes the
 * matching matrix rows by reading only their base64 characters (or the per-record vectors when
 * the file has no matrix rows). Time and memory depend on the batch, not on its position.
 */
import { isUtf8 } from 'node:buffer';
import { DimensionConflictError, SourceFormatError } from './errors';
import { assertUnchanged, bufferPool, openForRead, readRangePooled } from './io';
import type { VdbPlan } from './plan';
import type { JsonObject, VectorRecord } from './records';
import { JsonScanner, WATCH_VALUE, firstInvalidUtf8 } from './scan';
import { base64DecodedLength, base64RangeForBytes, decodeRecordVector, findInvalidBase64 } from './vectors';

export async function readVectorBatch(plan: VdbPlan, batchIndex: number): Promise<VectorRecord[]> {
  const batch = plan.batches[batchIndex];
  if (!batch) throw new RangeError(`${plan.file} has ${plan.batches.length} batches; there is no batch ${batchIndex}.`);
  const file = plan.file;
  const fh = await openForRead(file);
  try {
    await assertUnchanged(fh, file, plan);
    const buf = await readRangePooled(fh, batch.startOffset, batch.endOffset);
    let records: JsonObject[];
    try {
      records = parseDataSlice(file, batch.startOffset, buf, batch.firstRecord, batch.recordCount);
    } finally {
      bufferPool.release(buf);
    }
    const pooled: Buffer[] = [];
    let rows: Float32Array | undefined;
    if (plan.vectorSource === 'matrix' && batch.recordCount > 0) {
      const D = plan.dim;
      const { charStart, charEnd, skip } = base64RangeForBytes(
        batch.firstRecord * D * 4,
        (batch.firstRecord + batch.recordCount) * D * 4,
        plan.matrixLength,
      );
      const chars = await readRangePooled(fh, plan.matrixOffset + charStart, plan.matrixOffset + charEnd);
      pooled.push(chars);
      const isEnd = charEnd === plan.matrixLength;
      // decoded straight into the batch's vector memory, placed so that row 0 is 4-byte aligned:
      // each record's vector is then a view of its row (one allocation per batch, no copy)
      const lead = (4 - (skip % 4)) % 4;
      const memory = new ArrayBuffer(lead + Math.floor(chars.length / 4) * 3 + 4);
      const decoded = decodeBase64Pieces(chars, Buffer.from(memory, lead));
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
      rows = new Float32Array(memory, lead + skip, batch.recordCount * D);
    }
    try {
      return records.map((rec, i) => toVectorRecord(plan, rec, batch.firstRecord + i, rows, i));
    } finally {
      for (const b of pooled) bufferPool.release(b);
    }
  } finally {
    await fh.close();
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
  if (!isUtf8(buf)) {
    const at = base + firstInvalidUtf8(buf);
    throw new SourceFormatError('INVALID_UTF8', `${file} is not valid UTF-8 at byte ${at}; restore it from a backup.`, {
      file,
      byteOffset: at,
    });
  }
  // Records are parsed one by one (the scanner splits the slice): many small short-lived strings
  // are collected by the young-generation GC, whereas one batch-sized string would sit in V8's
  // large-object space until a full GC and inflate RSS.
  const parsed = parseOneByOne(file, base, buf, firstRecord);
  const arr = parsed;
  if (!Array.isArray(arr) || arr.length !== expected) {
    throw new SourceFormatError(
      'INVALID_JSON',
      `${file}: the batch at byte ${base} holds ${Array.isArray(arr) ? arr.length : 0} records where the plan expects ${expected}; the file changed or is damaged — plan the migration again.`,
      {
        file,
        byteOffset: base,
      },
    );
  }
  for (const [i, r] of arr.entries()) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      throw new SourceFormatError(
        'INVALID_RECORD',
        `${file}: record ${firstRecord + i} of "data" is not an object; restore the file from a backup.`,
        { file, recordIndex: firstRecord + i },
      );
    }
  }
  return arr as JsonObject[];
}

/** Splits the slice into records with the structure scanner and parses each. */
function parseOneByOne(file: string, base: number, buf: Buffer, firstRecord: number): unknown[] {
  const out: unknown[] = [];
  let start = 0;
  const scanner = new JsonScanner(
    file,
    {
      onValueStart(_d, offset) {
        start = offset;
      },
      onValueEnd(_d, end) {
        try {
          out.push(JSON.parse(buf.toString('utf8', start - base, end - base)));
        } catch (e) {
          throw new SourceFormatError(
            'INVALID_JSON',
            `${file}: record ${firstRecord + out.length} at byte ${start} is not valid JSON (${(e as Error).message}); the file is damaged — restore it from a backup.`,
            {
              file,
              recordIndex: firstRecord + out.length,
              byteOffset: start,
            },
          );
        }
      },
    },
    [[2, WATCH_VALUE]],
    base,
    { stack: ['object', 'array'], expect: 'value' },
    () => firstRecord + out.length,
  );
  scanner.write(buf);
  return out;
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
