/**
 * The source side: one streaming pass over a collection's planned batches (memory bounded by one
 * batch's file slice plus the sample), mapping every record exactly as the loader does — same mapper, same
 * in-batch duplicate rule (first kept), same encoder (its per-record errors are rejects) — and
 * hashing the bytes the server's digest query hashes (columns.ts).
 */
import { createHash } from 'node:crypto';
import { openBatch } from '../source';
import type { CollectionPlan } from '../source/plan';
import { admitRecord } from '../postgres/admit';
import type { FitNote } from '../postgres/fit';
import { BinaryCopyEncoder } from '../postgres/copy/binaryEncoder';
import type { AnyRecord, CollectionMapping } from '../postgres/layouts/types';
import { NOW_SENTINEL, type VerifyTable } from './columns';
import { jsonbText } from './jsonb';

const NULL_FIELD = Buffer.from([0xff, 0xff, 0xff, 0xff]);
/** Encoded bytes after which the pass's encoder starts again at the start of its buffer. */
const SCRATCH_BYTES = 1 << 20;

export interface SourceSampleRow {
  id: string;
  /** NOW_SENTINEL where a load-time column had no time in the record, else null */
  row: unknown[];
  /** per copy column: the send bytes, or null */
  fields: (Buffer | null)[];
}

/** Rejected records listed by id in the report (per collection; the count is always exact). */
const MAX_LISTED_REJECTS = 100;
/** Fitted values listed in the report (per collection; the counts are always exact). */
const MAX_LISTED_FITS = 1000;

/** One value stored fitted (fit.ts): the record, the field and what was changed. */
export interface FittedValue {
  id: string;
  field: string;
  change: string;
}

export interface SourceStats {
  records: number;
  rejected: number;
  /** the first MAX_LISTED_REJECTS rejected records with the loader's reason */
  rejects: { id: string; reason: string }[];
  /** records stored with at least one fitted value, and the values fitted */
  fittedRecords: number;
  fittedValues: number;
  /** the first MAX_LISTED_FITS fitted values */
  fits: FittedValue[];
  rows: number;
  sum: bigint;
  bucketCount: Int32Array;
  bucketSum: bigint[];
  sample: SourceSampleRow[];
  /** lightrag graph nodes whose row is `{entity_id: id}` only (indistinguishable from added ones) */
  attributeless: Map<string, Buffer>;
  /** ids finishStaging reported as cross-batch duplicates: every candidate digest, in file order */
  duplicateCandidates: Map<string, Buffer[]>;
  /** digests per id of the rows in `keepBuckets` (diff pass) */
  perId: Map<string, Buffer[]>;
}

export interface SourcePassOptions {
  /** rows whose md5(id) starts with a 32-bit value below this are sampled */
  sampleBelow: number;
  duplicateIds: ReadonlySet<string>;
  keepBuckets?: ReadonlySet<number>;
  signal?: AbortSignal;
  onBatch?(batch: number, batches: number): void;
}

export const int64Of = (digest: Buffer): bigint => digest.readBigInt64BE(0);

export async function sourcePass(
  t: VerifyTable,
  mapping: CollectionMapping,
  plan: CollectionPlan,
  o: SourcePassOptions,
): Promise<SourceStats> {
  const s: SourceStats = {
    records: 0,
    rejected: 0,
    rejects: [],
    fittedRecords: 0,
    fittedValues: 0,
    fits: [],
    rows: 0,
    sum: 0n,
    bucketCount: new Int32Array(256),
    bucketSum: new Array<bigint>(256).fill(0n),
    sample: [],
    attributeless: new Map(),
    duplicateCandidates: new Map(),
    perId: new Map(),
  };
  const columnNames = t.columns.map((c) => c.name);
  // one encoder buffer for the pass, reused once its rows are digested: a new one per batch,
  // doubled from 64 kB, made V8 start full collections (see the buffer pool in core/source/io.ts)
  let scratch: Buffer = Buffer.allocUnsafeSlow(2 * SCRATCH_BYTES);
  for (let k = 0; k < plan.batches.length; k++) {
    o.signal?.throwIfAborted();
    o.onBatch?.(k, plan.batches.length);
    // parsed as iterated, every value decoded (no utf8Fields): each row is digested as soon as it is
    // encoded, so a batch's records are never all alive at once
    const batch = await openBatch(plan, k);
    s.records += batch.count;
    const encoder = new BinaryCopyEncoder(t.types, scratch);
    const seen = new Set<string>();
    for (const record of batch.records as Iterable<AnyRecord>) {
      const admitted = admitRecord(mapping, columnNames, record, NOW_SENTINEL, seen, encoder);
      if (!admitted.ok) {
        s.rejected++;
        if (s.rejects.length < MAX_LISTED_REJECTS) s.rejects.push({ id: admitted.id, reason: admitted.reason });
        continue;
      }
      if (admitted.fits.length) noteFits(s, admitted.id, admitted.fits);
      addSourceRow(s, t, o, admitted.id, admitted.row, rowFields(t, encoder.buffer, admitted.start, admitted.row));
      if (encoder.length >= SCRATCH_BYTES) encoder.take(encoder.buffer); // digested: the bytes can go
    }
    scratch = encoder.buffer;
  }
  return s;
}

/** Adds one admitted row (its encoded fields) to the totals, the sample and the per-id lists. */
function addSourceRow(
  s: SourceStats,
  t: VerifyTable,
  o: SourcePassOptions,
  id: string,
  row: unknown[],
  fields: (Buffer | null)[],
): void {
  const digest = digestOf(t, fields);
  const idHash = createHash('md5').update(id, 'utf8').digest();
  if (o.duplicateIds.has(id)) {
    const list = s.duplicateCandidates.get(id) ?? [];
    list.push(digest);
    s.duplicateCandidates.set(id, list);
  } else {
    s.rows++;
    s.sum += int64Of(digest);
    s.bucketCount[idHash[0]!]!++;
    s.bucketSum[idHash[0]!]! += int64Of(digest);
    if (o.keepBuckets?.has(idHash[0]!)) {
      const list = s.perId.get(id) ?? [];
      list.push(digest);
      s.perId.set(id, list);
    }
  }
  if (t.endpointNodes && jsonbText(row[t.endpointNodes.properties]) === jsonbText({ entity_id: id }))
    s.attributeless.set(id, digest);
  // The comparison reads the encoded fields, and of the row only where a load-time column was
  // left to "now": keep just that (a vector would also hold its whole batch's memory).
  if (idHash.readUInt32BE(0) < o.sampleBelow)
    s.sample.push({
      id,
      row: row.map((v) => (v === NOW_SENTINEL ? v : null)),
      fields: fields.map((f) => (f ? Buffer.from(f) : null)),
    });
}

function noteFits(s: SourceStats, id: string, fits: readonly FitNote[]): void {
  s.fittedRecords++;
  s.fittedValues += fits.length;
  for (const f of fits) if (s.fits.length < MAX_LISTED_FITS) s.fits.push({ id, ...f });
}

/** Adds a resolved duplicate (the digest the target kept) to the totals. */
export function addRow(s: SourceStats, id: string, digest: Buffer, keepBuckets?: ReadonlySet<number>): void {
  const b = createHash('md5').update(id, 'utf8').digest()[0]!;
  s.rows++;
  s.sum += int64Of(digest);
  s.bucketCount[b]!++;
  s.bucketSum[b]! += int64Of(digest);
  if (keepBuckets?.has(b)) s.perId.set(id, [...(s.perId.get(id) ?? []), digest]);
}

/** Each copy column's send bytes (what the server's sendSql yields), from the encoded row at `start`. */
export function rowFields(t: VerifyTable, buf: Buffer, start: number, row: unknown[]): (Buffer | null)[] {
  const out: (Buffer | null)[] = [];
  let pos = start + 2; // int16 field count
  for (const c of t.columns) {
    const len = buf.readInt32BE(pos);
    const bytes = len < 0 ? null : buf.subarray(pos + 4, pos + 4 + len);
    pos += 4 + Math.max(len, 0);
    if (bytes === null) out.push(null);
    else if (c.type === 'jsonb') out.push(Buffer.from(jsonbText(row[c.index]), 'utf8'));
    else if ((c.type === 'timestamp' || c.type === 'timestamptz') && c.precision < 6)
      out.push(roundTimestamp(bytes, c.precision));
    else if (c.type === 'vector' && t.halfvec) out.push(halfRound(bytes));
    else out.push(bytes);
  }
  return out;
}

export function digestOf(t: VerifyTable, fields: (Buffer | null)[]): Buffer {
  const h = createHash('md5');
  const len = Buffer.alloc(4);
  for (const c of t.columns) {
    if (!c.covered) continue;
    const f = fields[c.index];
    if (!f) h.update(NULL_FIELD);
    else {
      len.writeInt32BE(f.length, 0);
      h.update(len);
      h.update(f);
    }
  }
  return h.digest();
}

/** PostgreSQL's AdjustTimestampForTypmod: round half away from zero to 10^-p seconds. */
function roundTimestamp(bytes: Buffer, p: number): Buffer {
  const scale = 10n ** BigInt(6 - p);
  const v = bytes.readBigInt64BE(0);
  const r = v >= 0n ? ((v + scale / 2n) / scale) * scale : -(((-v + scale / 2n) / scale) * scale);
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(r, 0);
  return out;
}

/** vector_send bytes with every float rounded to float16 and back (a halfvec column read as vector). */
function halfRound(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 4; i + 4 <= out.length; i += 4) out.writeFloatBE(toHalf(out.readFloatBE(i)), i);
  return out;
}

/** Nearest float16 (ties to even) of a float32, as a number. */
export function toHalf(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.floor(q);
  const frac = q - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  const v = r * ulp;
  return Math.sign(x) * (v > 65504 ? Infinity : v);
}
