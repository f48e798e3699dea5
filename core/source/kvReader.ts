/**
 * Batch reader for kv_store_*.json files: seeks to a planned batch, checks the file is unchanged,
 * splits the slice into records with the structure scanner and JSON.parses each record on its own
 * (so record order is the file's order, and an error names its record and byte offset).
 */
import { isUtf8 } from 'node:buffer';
import { SourceFormatError } from './errors';
import { assertUnchanged, bufferPool, openForRead, readRangePooled, releasingAfter } from './io';
import type { KvPlan } from './plan';
import type { JsonObject, KvRecord } from './records';
import { FieldCuts, parseRecord } from './fieldCuts';
import { JsonScanner, WATCH_KEY, WATCH_VALUE, firstInvalidUtf8 } from './scan';
import type { LazyBatch, OpenBatchOptions } from './vdbReader';

/** The flat key LightRAG derives for a legacy nested cache entry (LIGHTRAG_SCHEMA §4.4). */
export function flatCacheKey(mode: string, hash: string, entry: JsonObject): string {
  const ct = Object.prototype.hasOwnProperty.call(entry, 'cache_type') ? entry.cache_type : 'extract';
  // Python f-string formatting of the value
  const text =
    ct === null
      ? 'None'
      : ct === true
        ? 'True'
        : ct === false
          ? 'False'
          : typeof ct === 'string'
            ? ct
            : JSON.stringify(ct);
  return `${mode}:${text}:${hash}`;
}

export async function readKvBatch(plan: KvPlan, batchIndex: number): Promise<KvRecord[]> {
  return [...(await openKvBatch(plan, batchIndex)).records];
}

/** The batch split up front, each record's value parsed when the iteration reaches it (see LazyBatch). */
export async function openKvBatch(
  plan: KvPlan,
  batchIndex: number,
  options: OpenBatchOptions = {},
): Promise<LazyBatch<KvRecord>> {
  const batch = plan.batches[batchIndex];
  if (!batch) throw new RangeError(`${plan.file} has ${plan.batches.length} batches; there is no batch ${batchIndex}.`);
  const file = plan.file;
  const fh = await openForRead(file);
  let buf: Buffer | undefined;
  try {
    await assertUnchanged(fh, file, plan);
    buf = await readRangePooled(fh, batch.startOffset, batch.endOffset);
    // the legacy nested cache's records are a level deeper: their fields are parsed with them
    const cuts =
      FieldCuts.wanted(options) && batch.group === undefined ? new FieldCuts(options, batch.recordCount) : undefined;
    const split = splitKvSlice(plan, batch.startOffset, buf, batch.firstRecord, batch.recordCount, batch.group, cuts);
    const records = releasingAfter(split.records, [buf]);
    buf = undefined; // owned by the iterator from here
    return { count: split.count, records };
  } finally {
    if (buf) bufferPool.release(buf);
    await fh.close();
  }
}

/** Splits and parses a slice that starts at a record's key. Exported for tests. */
export function parseKvSlice(
  plan: KvPlan,
  base: number,
  buf: Buffer,
  firstRecord: number,
  expected: number,
  group: string | undefined,
): KvRecord[] {
  return [...splitKvSlice(plan, base, buf, firstRecord, expected, group).records];
}

/**
 * Where the records of a batch are, found by the scan: per record its key's and its value's byte
 * range and, for a nested cache entry, the mode it is under. Typed arrays rather than an object and
 * a key string per record: they live as long as the batch, which outlives V8's young generation, so
 * 1,000 small objects per batch were promoted to the old one (measured: ~150 → ~40 kB per scavenge).
 */
class KvSpans {
  /** keyStart, keyEnd, valueStart, valueEnd per record (absolute offsets) */
  readonly at: Float64Array;
  /** per record: index in `groups`, or -1 */
  readonly group: Int32Array;
  readonly groups: string[] = [];
  count = 0;

  constructor(readonly capacity: number) {
    this.at = new Float64Array(4 * capacity);
    this.group = new Int32Array(capacity);
  }

  push(keyStart: number, keyEnd: number, start: number, end: number, group: string | undefined): void {
    const i = this.count++;
    if (i >= this.capacity) return; // more records than planned: the count check fails the batch
    const at = this.at;
    at[4 * i] = keyStart;
    at[4 * i + 1] = keyEnd;
    at[4 * i + 2] = start;
    at[4 * i + 3] = end;
    if (group === undefined) this.group[i] = -1;
    else {
      const g = this.groups.indexOf(group);
      this.group[i] = g >= 0 ? g : this.groups.push(group) - 1;
    }
  }
}

function splitKvSlice(
  plan: KvPlan,
  base: number,
  buf: Buffer,
  firstRecord: number,
  expected: number,
  group: string | undefined,
  cuts?: FieldCuts,
): LazyBatch<KvRecord> {
  const file = plan.file;
  if (!isUtf8(buf)) {
    const at = base + firstInvalidUtf8(buf);
    throw new SourceFormatError('INVALID_UTF8', `${file} is not valid UTF-8 at byte ${at}; restore it from a backup.`, {
      file,
      byteOffset: at,
    });
  }
  const nested = new Set(plan.nestedGroups ?? []);
  const spans = new KvSpans(expected);
  let currentGroup: string | undefined = group;
  let keyStart = 0;
  let keyEnd = 0;
  let topKeyStart = 0;
  let topKeyEnd = 0;
  let valueStart = 0;
  const recIndex = (): number => firstRecord + spans.count;

  const parse = (start: number, end: number, what: string, index: number, read = parseRecord): unknown => {
    try {
      return read(buf, base, start, end);
    } catch (e) {
      throw new SourceFormatError(
        'INVALID_JSON',
        `${file}: ${what} of record ${index} at byte ${start} is not valid JSON (${(e as Error).message}); the file is damaged — restore it from a backup.`,
        {
          file,
          recordIndex: index,
          byteOffset: start,
        },
      );
    }
  };

  const scanner = new JsonScanner(
    file,
    {
      onKey(depth, start, raw) {
        keyStart = start;
        keyEnd = start + raw.length + 2;
        if (depth === 1) {
          topKeyStart = keyStart;
          topKeyEnd = keyEnd;
        } else if (currentGroup === undefined) cuts?.onKey(raw);
      },
      onValueStart(depth, offset, byte) {
        if (depth === 1) {
          valueStart = offset;
          // only a file with nested groups needs the top-level key before its record is read
          const key = nested.size > 0 ? (parse(topKeyStart, topKeyEnd, 'the key', recIndex()) as string) : undefined;
          currentGroup = key !== undefined && nested.has(key) ? key : undefined;
        } else if (currentGroup !== undefined) {
          valueStart = offset;
        } else {
          cuts?.onValueStart(offset, byte);
        }
      },
      onValueEnd(depth, end) {
        if (depth === 1) {
          if (currentGroup === undefined) {
            spans.push(topKeyStart, topKeyEnd, valueStart, end, undefined);
            cuts?.endRecord();
          }
          currentGroup = undefined;
        } else if (currentGroup !== undefined) {
          spans.push(keyStart, keyEnd, valueStart, end, currentGroup);
          cuts?.endRecord(); // a nested entry is parsed whole: no cuts, but its place in the count
        } else {
          cuts?.onValueEnd(end);
        }
      },
    },
    [
      [1, WATCH_KEY | WATCH_VALUE],
      [2, WATCH_KEY | WATCH_VALUE],
    ],
    base,
    { stack: group !== undefined ? ['object', 'object'] : ['object'], expect: 'key' },
    recIndex,
  );
  scanner.write(buf);
  if (spans.count !== expected) {
    throw new SourceFormatError(
      'INVALID_JSON',
      `${file}: batch at byte ${base} holds ${spans.count} records where the plan expects ${expected}; the file changed or is damaged — plan the migration again.`,
      {
        file,
        byteOffset: base,
      },
    );
  }
  function* records(): Generator<KvRecord> {
    const at = spans.at;
    for (let i = 0; i < expected; i++) {
      const index = firstRecord + i;
      const rawKey = parse(at[4 * i]!, at[4 * i + 1]!, 'the key', index) as string;
      const value = parse(at[4 * i + 2]!, at[4 * i + 3]!, 'the value', index, (b, from, start, end) =>
        parseRecord(b, from, start, end, cuts, i),
      ) as JsonObject;
      const g = spans.group[i]!;
      const key = g >= 0 ? flatCacheKey(spans.groups[g]!, rawKey, value) : rawKey;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new SourceFormatError(
          'INVALID_RECORD',
          `${file}: record ${index} (${JSON.stringify(key)}) is not an object; restore the file from a backup.`,
          {
            file,
            recordIndex: index,
          },
        );
      }
      yield { key, value };
    }
  }
  return { count: expected, records: records() };
}
