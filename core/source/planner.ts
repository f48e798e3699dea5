/**
 * The planning pass for JSON collections: one streaming read per file that validates structure and
 * UTF-8, counts records, records where every batch of N records starts and ends (and, for vector
 * files, where the matrix lies), finds duplicate keys and settles the embedding dimension.
 */
import type { promises as fsp } from 'node:fs';
import { detectDimension } from './dimension';
import { DuplicateConfirmer, HashCollector, keyHash } from './duplicates';
import { SourceFormatError } from './errors';
import { fileIdentity, forEachChunk, openForRead, readRange, type FileIdentity } from './io';
import { BatchBuilder, PLAN_VERSION, type KvPlan, type VdbPlan } from './plan';
import type { KvCollection, VectorCollection } from './records';
import { JsonScanner, Utf8Checker, WATCH_BASE64, WATCH_KEY, WATCH_VALUE, type ScanHooks } from './scan';
import { decodeRecordVector } from './vectors';

export const DEFAULT_BATCH_SIZE = 1000;
/** default byte bound of one batch's slice of the file (see BatchBuilder) */
export const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;

export interface PlanOptions {
  batchSize?: number;
  /** byte bound per batch (default 8 MiB; Infinity for none) */
  maxBatchBytes?: number;
  /** environment to read LIGHTRAG_EMBEDDING_DIM from (default process.env) */
  env?: NodeJS.ProcessEnv;
  chunkSize?: number;
}

const RETURN = Buffer.from('return');
const ID = Buffer.from('__id__');
const VECTOR = Buffer.from('vector');

function decodeKey(raw: Uint8Array, file: string, offset: number): string {
  try {
    return JSON.parse(`"${Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('utf8')}"`) as string;
  } catch {
    throw new SourceFormatError(
      'INVALID_JSON',
      `${file} has a key with an invalid escape at byte ${offset}; the file is damaged — restore it from a backup.`,
      { file, byteOffset: offset },
    );
  }
}

function colons(raw: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < raw.length; i++) if (raw[i] === 0x3a) c++;
  return c;
}

async function runScan(
  fh: fsp.FileHandle,
  file: string,
  size: number,
  scanner: JsonScanner,
  chunkSize?: number,
): Promise<void> {
  const utf8 = new Utf8Checker(file);
  await forEachChunk(
    fh,
    0,
    size,
    (chunk) => {
      utf8.write(chunk);
      scanner.write(chunk);
    },
    chunkSize,
  );
  utf8.finish();
  scanner.finish();
}

function duplicateError(
  file: string,
  what: string,
  d: { first: number; second: number; key: string },
): SourceFormatError {
  return new SourceFormatError(
    'DUPLICATE_KEY',
    `${file}: ${what} ${JSON.stringify(d.key.length > 200 ? d.key.slice(0, 200) + '…' : d.key)} appears twice (records ${d.first} and ${d.second}); LightRAG would silently keep only one — remove the duplicate or restore the file from a backup.`,
    { file, recordIndex: d.second },
  );
}

// ---------------------------------------------------------------------------------------------
// KV files

interface KvScanResult {
  bb: BatchBuilder;
  nestedGroups: string[];
  cacheForm: 'flat' | 'nested';
}

/**
 * One scan of a kv_store file. `onRecord` receives each record's key hash and raw key. For the LLM
 * cache it also decides, per top-level key, whether it is a legacy mode group to flatten
 * (LightRAG's rule: every value under it is an object holding `return`, and the file's first key is
 * not already a 3-part `mode:type:hash` key).
 */
async function scanKv(
  fh: fsp.FileHandle,
  file: string,
  id: FileIdentity,
  collection: KvCollection,
  batchSize: number,
  maxBatchBytes: number,
  onRecord: (hash: number, raw: Uint8Array, index: number) => void,
  chunkSize?: number,
): Promise<KvScanResult> {
  const isCache = collection === 'llm_response_cache';
  const bb = new BatchBuilder(batchSize, maxBatchBytes);
  const nestedGroups: string[] = [];
  let firstKey = true;
  let flatForm = !isCache;
  let topKeyStart = 0;
  let topKeyRaw: Buffer = Buffer.alloc(0);
  let group: { name: string; nameRaw: Buffer; state: 'undecided' | 'candidate' | 'nested' | 'plain' } | undefined;
  let entryKeyStart = 0;
  let entryKeyRaw: Buffer = Buffer.alloc(0);
  let entryHasReturn = false;

  const record = (start: number, raw: Buffer, grp?: { name: string; nameRaw: Buffer }): void => {
    const hashInput = grp ? Buffer.concat([grp.nameRaw, Buffer.from([0]), raw]) : raw;
    const index = bb.begin(start, grp?.name);
    onRecord(keyHash(hashInput), grp ? Buffer.concat([grp.nameRaw, Buffer.from(':'), raw]) : raw, index);
  };
  const fail = (code: 'INVALID_RECORD' | 'UNSUPPORTED_STRUCTURE', msg: string, byteOffset: number): never => {
    throw new SourceFormatError(
      code,
      `${file}: ${msg} at byte ${byteOffset}; the file is not in LightRAG's key-value format — check that it is the right file or restore it from a backup.`,
      {
        file,
        byteOffset,
        recordIndex: bb.count,
      },
    );
  };

  const hooks: ScanHooks = {
    onKey(depth, start, raw) {
      if (depth === 1) {
        topKeyStart = start;
        topKeyRaw = Buffer.from(raw);
        if (firstKey) {
          firstKey = false;
          if (isCache) flatForm = colons(raw) >= 2;
        }
      } else if (depth === 2 && group) {
        entryKeyStart = start;
        entryKeyRaw = Buffer.from(raw);
      } else if (depth === 3 && group && (group.state === 'candidate' || group.state === 'nested')) {
        if (raw.equals(RETURN)) entryHasReturn = true;
      }
    },
    onValueStart(depth, offset, byte) {
      if (depth === 0) {
        if (byte !== 0x7b) fail('UNSUPPORTED_STRUCTURE', 'the top-level value is not an object', offset);
      } else if (depth === 1) {
        if (byte !== 0x7b)
          fail(
            'INVALID_RECORD',
            `the value of key ${JSON.stringify(topKeyRaw.toString('utf8').slice(0, 100))} is not an object`,
            offset,
          );
        if (flatForm) record(topKeyStart, topKeyRaw);
        else group = { name: decodeKey(topKeyRaw, file, topKeyStart), nameRaw: topKeyRaw, state: 'undecided' };
      } else if (depth === 2 && group) {
        if (group.state === 'undecided') {
          if (byte === 0x7b) {
            group.state = 'candidate';
            entryHasReturn = false;
          } else {
            group.state = 'plain';
            record(topKeyStart, topKeyRaw);
          }
        } else if (group.state === 'nested') {
          if (byte !== 0x7b)
            fail(
              'UNSUPPORTED_STRUCTURE',
              `legacy cache mode ${JSON.stringify(group.name)} mixes cache entries with other values`,
              offset,
            );
          entryHasReturn = false;
        }
      }
    },
    onValueEnd(depth, end) {
      if (depth === 2 && group) {
        if (group.state === 'candidate') {
          if (entryHasReturn) {
            group.state = 'nested';
            nestedGroups.push(group.name);
            record(entryKeyStart, entryKeyRaw, group);
            bb.end(end);
          } else {
            group.state = 'plain';
            record(topKeyStart, topKeyRaw);
          }
        } else if (group.state === 'nested') {
          if (!entryHasReturn)
            fail(
              'UNSUPPORTED_STRUCTURE',
              `legacy cache mode ${JSON.stringify(group.name)} has an entry without "return"`,
              entryKeyStart,
            );
          record(entryKeyStart, entryKeyRaw, group);
          bb.end(end);
        }
      } else if (depth === 1) {
        if (group?.state === 'undecided') record(topKeyStart, topKeyRaw);
        if (!group || group.state !== 'nested') bb.end(end);
        group = undefined;
      }
    },
  };
  const watch: Array<[number, number]> = isCache
    ? [
        [0, WATCH_VALUE],
        [1, WATCH_KEY | WATCH_VALUE],
        [2, WATCH_KEY | WATCH_VALUE],
        [3, WATCH_KEY],
      ]
    : [
        [0, WATCH_VALUE],
        [1, WATCH_KEY | WATCH_VALUE],
      ];
  const scanner = new JsonScanner(file, hooks, watch, 0, undefined, () => bb.count);
  await runScan(fh, file, id.size, scanner, chunkSize);
  bb.close();
  return { bb, nestedGroups, cacheForm: nestedGroups.length > 0 ? 'nested' : 'flat' };
}

export async function planKv(file: string, collection: KvCollection, opts: PlanOptions = {}): Promise<KvPlan> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const fh = await openForRead(file);
  try {
    const id = await fileIdentity(fh);
    const hashes = new HashCollector();
    const res = await scanKv(fh, file, id, collection, batchSize, maxBatchBytes, (h) => hashes.add(h), opts.chunkSize);
    const candidates = hashes.candidates();
    if (candidates.size > 0) {
      const confirm = new DuplicateConfirmer(candidates);
      await scanKv(fh, file, id, collection, batchSize, maxBatchBytes, (h, raw, index) => {
        const dup = confirm.check(h, raw, index);
        if (dup) throw duplicateError(file, 'the key', dup);
      });
    }
    const plan: KvPlan = {
      version: PLAN_VERSION,
      kind: 'kv',
      collection,
      file,
      size: id.size,
      mtimeMs: id.mtimeMs,
      fingerprint: id.fingerprint,
      recordCount: res.bb.count,
      batchSize,
      maxBatchBytes: Number.isFinite(maxBatchBytes) ? maxBatchBytes : null,
      batches: res.bb.batches,
    };
    if (collection === 'llm_response_cache') {
      plan.cacheForm = res.cacheForm;
      if (res.nestedGroups.length) plan.nestedGroups = res.nestedGroups;
    }
    return plan;
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// nano-vectordb files

interface VdbScanResult {
  bb: BatchBuilder;
  top: Map<string, { start: number; end: number }>;
  matrixBad: number;
  matrixEq: number;
  withVector: number;
  firstVector?: { index: number; start: number; end: number };
}

async function scanVdb(
  fh: fsp.FileHandle,
  file: string,
  id: FileIdentity,
  batchSize: number,
  maxBatchBytes: number,
  onId: (hash: number, raw: Uint8Array, index: number) => void,
  chunkSize?: number,
): Promise<VdbScanResult> {
  const bb = new BatchBuilder(batchSize, maxBatchBytes);
  const top = new Map<string, { start: number; end: number }>();
  let topKey = '';
  let inData = false;
  let recIndex = -1;
  let recStart = 0;
  let hasId = false;
  let hasVector = false;
  let withVector = 0;
  let matrixBad = -1;
  let matrixEq = -1;
  let firstVector: VdbScanResult['firstVector'];
  let scanner: JsonScanner;
  const fail = (
    code: 'INVALID_RECORD' | 'UNSUPPORTED_STRUCTURE',
    msg: string,
    byteOffset: number,
    recordIndex?: number,
  ): never => {
    throw new SourceFormatError(
      code,
      `${file}: ${msg} at byte ${byteOffset}; the file is not in nano-vectordb's format — check that it is the right file or restore it from a backup.`,
      {
        file,
        byteOffset,
        ...(recordIndex !== undefined ? { recordIndex } : {}),
      },
    );
  };
  const hooks: ScanHooks = {
    onKey(depth, _start, raw) {
      if (depth === 1) topKey = raw.toString('utf8');
      else if (depth === 3 && inData) {
        if (raw.equals(ID)) {
          scanner.captureNextValue();
        } else if (raw.equals(VECTOR)) {
          hasVector = true;
        }
      }
    },
    onStringValue(depth, _start, raw) {
      if (depth === 3 && inData && !hasId) {
        hasId = true;
        onId(keyHash(raw), raw, recIndex);
      }
    },
    onValueStart(depth, offset, byte) {
      if (depth === 0) {
        if (byte !== 0x7b) fail('UNSUPPORTED_STRUCTURE', 'the top-level value is not an object', offset);
      } else if (depth === 1) {
        top.set(topKey, { start: offset, end: offset });
        if (topKey === 'data') {
          if (byte !== 0x5b) fail('UNSUPPORTED_STRUCTURE', '"data" is not an array', offset);
          inData = true;
        } else if (topKey === 'matrix' && byte !== 0x22)
          fail('UNSUPPORTED_STRUCTURE', '"matrix" is not a string', offset);
      } else if (depth === 2 && inData) {
        if (byte !== 0x7b) fail('INVALID_RECORD', `record ${bb.count} of "data" is not an object`, offset, bb.count);
        recStart = offset;
        recIndex = bb.begin(offset);
        hasId = false;
        hasVector = false;
      }
    },
    onValueEnd(depth, end) {
      if (depth === 2 && inData) {
        if (!hasId) fail('INVALID_RECORD', `record ${recIndex} has no string "__id__"`, recStart, recIndex);
        if (hasVector) {
          withVector++;
          firstVector ??= { index: recIndex, start: recStart, end };
        }
        bb.end(end);
      } else if (depth === 1) {
        const t = top.get(topKey);
        if (t) t.end = end;
        if (topKey === 'data') inData = false;
        if (topKey === 'embedding_dim') {
          // nano-vectordb writes embedding_dim before data: count each record's matrix row in the
          // batch byte budget
          const d = Number(scanner.lastScalar);
          if (Number.isInteger(d) && d > 0) bb.extraBytesPerRecord = Math.ceil((d * 4 * 4) / 3);
        }
        if (topKey === 'matrix') {
          matrixBad = scanner.firstBadBase64;
          matrixEq = scanner.firstEq;
        }
      }
    },
  };
  scanner = new JsonScanner(
    file,
    hooks,
    [
      [0, WATCH_VALUE],
      [1, WATCH_KEY | WATCH_VALUE | WATCH_BASE64],
      [2, WATCH_VALUE],
      [3, WATCH_KEY],
    ],
    0,
    undefined,
    () => (inData ? bb.count : undefined),
  );
  await runScan(fh, file, id.size, scanner, chunkSize);
  bb.close();
  return { bb, top, matrixBad, matrixEq, withVector, ...(firstVector ? { firstVector } : {}) };
}

export async function planVdb(file: string, collection: VectorCollection, opts: PlanOptions = {}): Promise<VdbPlan> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const env = opts.env ?? process.env;
  const fh = await openForRead(file);
  try {
    const id = await fileIdentity(fh);
    const hashes = new HashCollector();
    const res = await scanVdb(fh, file, id, batchSize, maxBatchBytes, (h) => hashes.add(h), opts.chunkSize);
    const candidates = hashes.candidates();
    if (candidates.size > 0) {
      const confirm = new DuplicateConfirmer(candidates);
      await scanVdb(fh, file, id, batchSize, maxBatchBytes, (h, raw, index) => {
        const dup = confirm.check(h, raw, index);
        if (dup) throw duplicateError(file, 'the "__id__"', dup);
      });
    }
    const n = res.bb.count;
    const dataPos = res.top.get('data');
    if (!dataPos) {
      throw new SourceFormatError(
        'UNSUPPORTED_STRUCTURE',
        `${file} has no "data" array, so it is not a nano-vectordb file; check that it is the right file or restore it from a backup.`,
        { file },
      );
    }
    const small = async (key: string, limit: number): Promise<unknown> => {
      const pos = res.top.get(key);
      if (!pos || pos.end - pos.start > limit) return undefined;
      try {
        return JSON.parse((await readRange(fh, pos.start, pos.end)).toString('utf8'));
      } catch (e) {
        throw new SourceFormatError(
          'INVALID_JSON',
          `${file}: "${key}" at byte ${pos.start} is not valid JSON (${(e as Error).message}); the file is damaged — restore it from a backup.`,
          { file, byteOffset: pos.start },
        );
      }
    };
    const embeddingDimKey = await small('embedding_dim', 64);
    const additional = await small('additional_data', 1024 * 1024);

    // matrix: location, base64 validity, decoded length
    const m = res.top.get('matrix');
    let matrixOffset = -1;
    let matrixLength = 0;
    let matrixBytes = 0;
    if (m) {
      matrixOffset = m.start + 1;
      matrixLength = m.end - 1 - matrixOffset;
      if (res.matrixBad >= 0) {
        throw new SourceFormatError(
          'INVALID_BASE64',
          `${file}: "matrix" is not valid base64 at byte ${res.matrixBad}; the file is damaged — restore it from a backup.`,
          {
            file,
            byteOffset: res.matrixBad,
          },
        );
      }
      if (matrixLength % 4 !== 0) {
        throw new SourceFormatError(
          'MATRIX_LENGTH',
          `${file}: "matrix" has ${matrixLength} base64 characters, not a multiple of 4, so it is truncated or damaged; restore the file from a backup.`,
          {
            file,
            byteOffset: matrixOffset + matrixLength,
          },
        );
      }
      if (matrixLength > 0) {
        const last2 = await readRange(fh, matrixOffset + matrixLength - 2, matrixOffset + matrixLength);
        const pad = (last2[1] === 0x3d ? 1 : 0) + (last2[1] === 0x3d && last2[0] === 0x3d ? 1 : 0);
        if (res.matrixEq >= 0 && res.matrixEq < matrixOffset + matrixLength - pad) {
          throw new SourceFormatError(
            'INVALID_BASE64',
            `${file}: "matrix" has base64 padding '=' in the middle at byte ${res.matrixEq}; the file is damaged — restore it from a backup.`,
            {
              file,
              byteOffset: res.matrixEq,
            },
          );
        }
        matrixBytes = (matrixLength / 4) * 3 - pad;
      }
    }

    let recordVectorDim: number | undefined;
    if (res.firstVector) {
      const slice = await readRange(fh, res.firstVector.start, res.firstVector.end);
      let rec: { vector?: unknown };
      try {
        rec = JSON.parse(slice.toString('utf8')) as { vector?: unknown };
      } catch (e) {
        throw new SourceFormatError(
          'INVALID_JSON',
          `${file}: record ${res.firstVector.index} at byte ${res.firstVector.start} is not valid JSON (${(e as Error).message}); the file is damaged — restore it from a backup.`,
          {
            file,
            recordIndex: res.firstVector.index,
            byteOffset: res.firstVector.start,
          },
        );
      }
      if (typeof rec.vector !== 'string') {
        throw new SourceFormatError(
          'INVALID_VECTOR',
          `${file}: the "vector" field of record ${res.firstVector.index} is not a base64 string; the file is damaged — restore it from a backup.`,
          {
            file,
            recordIndex: res.firstVector.index,
          },
        );
      }
      recordVectorDim = decodeRecordVector(rec.vector, file, res.firstVector.index).length;
    }

    const { dim, dimSource } = detectDimension({
      file,
      embeddingDimKey,
      recordCount: n,
      matrixBytes,
      recordVectorDim,
      env: env.LIGHTRAG_EMBEDDING_DIM,
    });

    let vectorSource: 'matrix' | 'record' = 'matrix';
    if (n > 0 && matrixBytes === 0) {
      if (res.withVector < n) {
        throw new SourceFormatError(
          'EMPTY_MATRIX',
          `${file}: "matrix" is empty but "data" has ${n} records${res.withVector ? `, only ${res.withVector} of them with a per-record "vector"` : ' and none has a per-record "vector"'}, so their embeddings are missing; restore the file from a backup or re-index these documents in LightRAG.`,
          { file, ...(m ? { byteOffset: m.start } : {}) },
        );
      }
      vectorSource = 'record';
    }

    return {
      version: PLAN_VERSION,
      kind: 'vdb',
      collection,
      file,
      size: id.size,
      mtimeMs: id.mtimeMs,
      fingerprint: id.fingerprint,
      recordCount: n,
      batchSize,
      maxBatchBytes: Number.isFinite(maxBatchBytes) ? maxBatchBytes : null,
      batches: res.bb.batches,
      dim,
      dimSource,
      embeddingDimKey:
        typeof embeddingDimKey === 'number' && Number.isInteger(embeddingDimKey) ? embeddingDimKey : null,
      matrixOffset,
      matrixLength,
      vectorSource,
      additionalData:
        additional !== null && typeof additional === 'object' && !Array.isArray(additional)
          ? (additional as Record<string, unknown>)
          : null,
    };
  } finally {
    await fh.close();
  }
}
