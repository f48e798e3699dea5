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
import { JsonScanner, WATCH_KEY, WATCH_VALUE, firstInvalidUtf8 } from './scan';

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
  return parseKvSlice(plan, batch.startOffset, buf, batch.firstRecord, batch.recordCount, batch.group);
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
  const file = plan.file;
  if (!isUtf8(buf)) {
    const at = base + firstInvalidUtf8(buf);
    throw new SourceFormatError('INVALID_UTF8', `${file} is not valid UTF-8 at byte ${at}; restore it from a backup.`, {
      file,
      byteOffset: at,
    });
  }
  const nested = new Set(plan.nestedGroups ?? []);
  const out: KvRecord[] = [];
  let currentGroup: string | undefined = group;
  let keyStart = 0;
  let keyEnd = 0;
  let topKey: string | undefined;
  let valueStart = 0;
  const recIndex = (): number => firstRecord + out.length;

  const parse = (start: number, end: number, what: string): unknown => {
    try {
      return JSON.parse(buf.toString('utf8', start - base, end - base));
    } catch (e) {
      throw new SourceFormatError(
        'INVALID_JSON',
        `${file}: ${what} of record ${recIndex()} at byte ${start} is not valid JSON (${(e as Error).message}); the file is damaged — restore it from a backup.`,
        {
          file,
          recordIndex: recIndex(),
          byteOffset: start,
        },
      );
    }
  };
  const keyOf = (): string => parse(keyStart, keyEnd, 'the key') as string;

  const scanner = new JsonScanner(
    file,
    {
      onKey(depth, start, raw) {
        keyStart = start;
        keyEnd = start + raw.length + 2;
        if (depth === 1) topKey = keyOf();
      },
      onValueStart(depth, offset) {
        if (depth === 1) {
          valueStart = offset;
          currentGroup = topKey !== undefined && nested.has(topKey) ? topKey : undefined;
        } else if (depth === 2 && currentGroup !== undefined) {
          valueStart = offset;
        }
      },
      onValueEnd(depth, end) {
        if (depth === 1) {
          if (currentGroup === undefined) {
            out.push({ key: topKey!, value: parse(valueStart, end, 'the value') as JsonObject });
          }
          currentGroup = undefined;
        } else if (depth === 2 && currentGroup !== undefined) {
          const hash = keyOf();
          const entry = parse(valueStart, end, 'the value') as JsonObject;
          out.push({ key: flatCacheKey(currentGroup, hash, entry), value: entry });
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
  for (const [i, r] of out.entries()) {
    if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) {
      throw new SourceFormatError(
        'INVALID_RECORD',
        `${file}: record ${firstRecord + i} (${JSON.stringify(r.key)}) is not an object; restore the file from a backup.`,
        {
          file,
          recordIndex: firstRecord + i,
        },
      );
    }
  }
  if (out.length !== expected) {
    throw new SourceFormatError(
      'INVALID_JSON',
      `${file}: batch at byte ${base} holds ${out.length} records where the plan expects ${expected}; the file changed or is damaged — plan the migration again.`,
      {
        file,
        byteOffset: base,
      },
    );
  }
  return out;
}
