/**
 * The loader reads a mapping's plain text fields as UTF-8 bytes (`Utf8Text`, core/source/fieldCuts.ts)
 * while the verifier, the dry run and `readBatch` decode every value: both ways must give the same
 * COPY bytes, the same rejects and the same fitted values for every record, and fail the same
 * batches. Checked on every real fixture and on hostile copies of the two file kinds.
 */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { admitRecord } from '../../../core/postgres/admit';
import {
  BinaryCopyEncoder,
  copyTypes,
  mappingFor,
  planTarget,
  tableSpec,
  type AnyRecord,
  type CollectionMapping,
} from '../../../core/postgres';
import {
  SourceFormatError,
  Utf8Text,
  discover,
  openBatch,
  planCollection,
  planWorkspace,
  readBatch,
  type CollectionPlan,
} from '../../../core/source';
import { fixturesRoot, readManifest, tempDir } from '../source/helpers';

const NOW = 1_760_000_000_000;

interface Encoded {
  bytes: Buffer;
  admissions: unknown[];
  utf8Values: number;
}

const fieldsOf = (r: AnyRecord): Record<string, unknown> => ('value' in r ? r.value : 'fields' in r ? r.fields : {});

async function encodeBatch(
  plan: CollectionPlan,
  k: number,
  mapping: CollectionMapping,
  dimension: number,
  lazy: boolean,
): Promise<Encoded> {
  const target = planTarget({ migrationId: 'utf8-fields', workspace: 'w', dimension });
  const spec = tableSpec(target, mapping.table);
  const encoder = new BinaryCopyEncoder(copyTypes(spec), 1 << 16);
  const records = lazy
    ? (await openBatch(plan, k, { utf8Fields: mapping.utf8Fields ?? [] })).records
    : await readBatch(plan, k);
  const seen = new Set<string>();
  const admissions: unknown[] = [];
  let utf8Values = 0;
  for (const record of records as Iterable<AnyRecord>) {
    utf8Values += Object.values(fieldsOf(record)).filter((v) => v instanceof Utf8Text).length;
    const a = admitRecord(mapping, spec.copyColumns, record, NOW, seen, encoder);
    admissions.push(a.ok ? { id: a.id, fits: a.fits } : { id: a.id, reason: a.reason });
  }
  return { bytes: Buffer.from(encoder.take()), admissions, utf8Values };
}

/** Encodes every batch both ways, expects them equal; returns how many values came as Utf8Text. */
async function expectSameBothWays(plan: CollectionPlan, dimension: number): Promise<number> {
  const mapping = mappingFor(planTarget({ migrationId: 'm', workspace: 'w', dimension }), plan.collection);
  let utf8Values = 0;
  for (let k = 0; k < plan.batches.length; k++) {
    const decoded = await encodeBatch(plan, k, mapping, dimension, false);
    const fast = await encodeBatch(plan, k, mapping, dimension, true);
    expect(decoded.utf8Values).toBe(0);
    expect(fast.admissions).toEqual(decoded.admissions);
    expect(fast.bytes.equals(decoded.bytes)).toBe(true);
    utf8Values += fast.utf8Values;
  }
  return utf8Values;
}

const dimensionOf = (plans: CollectionPlan[]): number =>
  plans.find((p): p is Extract<CollectionPlan, { kind: 'vdb' }> => p.kind === 'vdb')?.dim ?? 1536;

describe('text fields read as UTF-8 bytes', () => {
  it('encode every real fixture exactly as the decoded records do', async () => {
    let utf8Values = 0;
    for (const row of readManifest()) {
      const folder = row.local_folder!;
      const dir = path.join(fixturesRoot, folder);
      const sub = folder.includes('/');
      const { workspaces } = await discover(sub ? path.dirname(dir) : dir);
      const ws = workspaces.find((w) => w.workspace === (sub ? path.basename(folder) : ''))!;
      const plans = await planWorkspace(ws, { batchSize: 7 });
      for (const plan of plans) utf8Values += await expectSameBothWays(plan, dimensionOf(plans));
    }
    // the comparison is only worth something if the fast path ran
    expect(utf8Values).toBeGreaterThan(300);
  });

  const long = (json: string): string => json.repeat(Math.ceil(300 / json.length));
  /** JSON source texts of `content` values (raw, as they would stand in the file) */
  const contents = [
    `"${long('plain ascii words ')}"`,
    `"${long('escapes \\n\\t\\"q\\" back\\\\slash \\/ \\b\\f\\r ')}"`,
    `"${long('UTF-8 é 中文 😀 שלום ')}"`,
    `"${long('escaped \\u00e9 \\u4e2d ')}"`,
    `"${long('nul \\u0000 inside ')}"`,
    `"${long('lone \\ud800 surrogate ')}"`,
    `"${long('pair \\ud83d\\ude00 ')}"`,
    `"${long('control-like but escaped \\u0007 ')}"`,
    '42',
    '"short"',
    `{"nested": "${long('object value ')}"}`,
    'null',
  ];
  /** whole record bodies (inside the braces) where the field's position or key matters */
  const bodies = [
    `"content": "${long('first ')}", "content": "${long('second wins ')}"`,
    `"content": "${long('first ')}", "content": "short wins"`,
    `"content": "${long('first ')}", "cont\\u0065nt": "escaped key wins"`,
    `"heading": {"content": "${long('nested, not cut ')}"}, "content": "${long('top ')}"`,
    `"content": "${long('a key with a backslash is not cut ')}", "we\\\\ird": 1`,
  ];

  it('encode hostile key-value records exactly as the decoded records do', async () => {
    const dir = tempDir('utf8-kv');
    const file = path.join(dir, 'kv_store_text_chunks.json');
    const records = [...contents.map((c) => `"content": ${c}`), ...bodies].map(
      (body, i) => `  "chunk-${i}": {\n    "tokens": 3,\n    ${body},\n    "full_doc_id": "doc-1"\n  }`,
    );
    writeFileSync(file, `{\n${records.join(',\n')}\n}`);
    const plan = await planCollection(file, 'text_chunks', { batchSize: 4 });
    // cut: the plain, escaped and UTF-8 texts, and the top-level one beside a nested "content"
    expect(await expectSameBothWays(plan, 4)).toBe(4);
  });

  it('encode a legacy cache mixing plain entries and nested mode groups exactly as the decoded records do', async () => {
    const dir = tempDir('utf8-cache');
    const file = path.join(dir, 'kv_store_llm_response_cache.json');
    const entry = (i: number) =>
      `{"return": "${long(`answer ${i} \\n é `)}", "original_prompt": "${long(`prompt ${i} `)}", "cache_type": "extract"}`;
    writeFileSync(
      file,
      `{"plain-1": ${entry(1)}, "default": {"h1": ${entry(2)}, "h2": ${entry(3)}}, "plain-2": ${entry(4)}, "local": {"h3": ${entry(5)}}, "plain-3": ${entry(6)}}`,
    );
    const plan = await planCollection(file, 'llm_response_cache', { batchSize: 100 });
    expect(plan.kind === 'kv' && plan.nestedGroups).toEqual(['default', 'local']);
    // the plain entries' two long texts each are cut; nested entries are parsed whole
    expect(await expectSameBothWays(plan, 4)).toBe(6);
  });

  it('encode hostile vector records exactly as the decoded records do (per-record vectors never decoded)', async () => {
    const dir = tempDir('utf8-vdb');
    const file = path.join(dir, 'vdb_chunks.json');
    const bodies2 = [...contents.map((c) => `"content": ${c}`), ...bodies];
    // LightRAG's per-record vector (zlib float16, base64): long enough to be cut, checked, never decoded
    const DIM = 128;
    const float16 = new Uint16Array(DIM).map((_, i) => (i * 7919) % 0x7bff);
    const perRecordVector = `"vector": "${deflateSync(Buffer.from(float16.buffer)).toString('base64')}"`;
    expect(perRecordVector.length).toBeGreaterThan(256);
    const data = bodies2.map(
      (body, i) => `{"__id__": "chunk-${i}", "__created_at__": 1740000000, ${body}, ${perRecordVector}}`,
    );
    const matrix = Buffer.from(new Float32Array(data.length * DIM).map((_, i) => i / 8).buffer).toString('base64');
    writeFileSync(file, `{"embedding_dim": ${DIM}, "data": [${data.join(', ')}], "matrix": "${matrix}"}`);
    const plan = await planCollection(file, 'vdb_chunks', { batchSize: 5 });
    expect(await expectSameBothWays(plan, DIM)).toBe(4);
  });

  for (const [what, value] of [
    ['a raw control character', `"${long('tab\tinside ')}"`],
    ['an invalid escape', `"${long('bad \\x escape ')}"`],
  ] as const) {
    it(`fail the batch at the same record for ${what} in a long text`, async () => {
      const dir = tempDir('utf8-bad');
      const file = path.join(dir, 'kv_store_full_docs.json');
      writeFileSync(
        file,
        `{"doc-0": {"content": "${long('fine ')}"}, "doc-1": {"content": ${value}}, "doc-2": {"content": "x"}}`,
      );
      const plan = await planCollection(file, 'full_docs', { batchSize: 10 });
      const eager = await readBatch(plan, 0).catch((e: unknown) => e);
      const batch = await openBatch(plan, 0, { utf8Fields: ['content'] });
      let fast: unknown;
      try {
        for (const _record of batch.records) void _record;
      } catch (e) {
        fast = e;
      }
      for (const error of [eager, fast]) {
        expect(error).toBeInstanceOf(SourceFormatError);
        expect((error as SourceFormatError).code).toBe('INVALID_JSON');
        expect((error as SourceFormatError).recordIndex).toBe(1);
      }
    });
  }
});
