/**
 * Batch reader for kv_store_*.json files: seeks to a planned batch, checks the file is unchanged,
 * splits the slice into records with the structure scanner and JSON.parses each record on its own
 * (so record order is the file's order, and an error names its record and byte offset).
 */
import { isUtf8 } from 'node:buffer';
import { SourceFormatError } from './errors';
import { assertUnchanged, openForRead, readRange } from './io';
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
  let buf: Buffer;
  try {
    await assertUnchanged(fh, file, plan);
    buf = await readRange(fh, batch.startOffset, batch.endOffset);
  } finally {
    await fh.close();
  }
  // the legacy nested cache's records are a level deeper: their fields are parsed with them
  const cuts = FieldCuts.wanted(options) && batch.group === undefined ? new FieldCuts(options) : undefined;
  return splitKvSlice(plan, batch.startOffset, buf, batch.firstRecord, batch.recordCount, batch.group, cuts);
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

/** One record found by the scan: its key (or, for a nested cache entry, its mode and hash) and where its value is. */
interface KvSpan {
  key: string;
  /** nested legacy cache entry: the mode it is under (the flat key needs the parsed entry) */
  group?: string;
  start: number;
  end: number;
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
  const spans: KvSpan[] = [];
  let currentGroup: string | undefined = group;
  let keyStart = 0;
  let keyEnd = 0;
  let topKey: string | undefined;
  let valueStart = 0;
  const recIndex = (): number => firstRecord + spans.length;

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
  const keyOf = (): string => parse(keyStart, keyEnd, 'the key', recIndex()) as string;

  const scanner = new JsonScanner(
    file,
    {
      onKey(depth, start, raw) {
        keyStart = start;
        keyEnd = start + raw.length + 2;
        if (depth === 1) topKey = keyOf();
        else if (currentGroup === undefined) cuts?.onKey(raw);
      },
      onValueStart(depth, offset, byte) {
        if (depth === 1) {
          valueStart = offset;
          currentGroup = topKey !== undefined && nested.has(topKey) ? topKey : undefined;
        } else if (currentGroup !== undefined) {
          valueStart = offset;
        } else {
          cuts?.onValueStart(offset, byte);
        }
      },
      onValueEnd(depth, end) {
        if (depth === 1) {
          if (currentGroup === undefined) {
            spans.push({ key: topKey!, start: valueStart, end });
            cuts?.endRecord();
          }
          currentGroup = undefined;
        } else if (currentGroup !== undefined) {
          spans.push({ key: keyOf(), group: currentGroup, start: valueStart, end });
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
  if (spans.length !== expected) {
    throw new SourceFormatError(
      'INVALID_JSON',
      `${file}: batch at byte ${base} holds ${spans.length} records where the plan expects ${expected}; the file changed or is damaged — plan the migration again.`,
      {
        file,
        byteOffset: base,
      },
    );
  }
  function* records(): Generator<KvRecord> {
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const value = parse(span.start, span.end, 'the value', firstRecord + i, (b, at, start, end) =>
        parseRecord(b, at, start, end, cuts, i),
      ) as JsonObject;
      const key = span.group !== undefined ? flatCacheKey(span.group, span.key, value) : span.key;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new SourceFormatError(
          'INVALID_RECORD',
          `${file}: record ${firstRecord + i} (${JSON.stringify(key)}) is not an object; restore the file from a backup.`,
          {
            file,
            recordIndex: firstRecord + i,
          },
        );
      }
      yield { key, value };
    }
  }
  return { count: spans.length, records: records() };
}
