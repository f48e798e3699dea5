/**
 * Bad input: every case is a typed SourceError with a code, the file, and a record index or byte
 * offset where one exists — raised by planning (before any batch runs) wherever possible.
 */
import { statSync, utimesSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  SourceError,
  discover,
  parsePlan,
  planGraphml,
  planKv,
  planVdb,
  openKvBatch,
  openVectorBatch,
  readBatch,
  readKvBatch,
  readVectorBatch,
  type SourceErrorCode,
} from '../../../core/source';
import { rmSync } from 'node:fs';
import { tempDir } from './helpers';

const dir = tempDir('bad');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, `${n++}-${name}`);
  writeFileSync(p, content);
  return p;
}

async function expectError(p: Promise<unknown>, code: SourceErrorCode): Promise<SourceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(SourceError);
  const e = err as SourceError;
  expect(e.code).toBe(code);
  return e;
}

const f32b64 = (values: number[]): string => Buffer.from(new Float32Array(values).buffer).toString('base64');
const vdb = (dim: number | undefined, data: object[], matrix: string): string =>
  JSON.stringify({ ...(dim !== undefined ? { embedding_dim: dim } : {}), data, matrix })
    .replace(/,"/g, ', "')
    .replace(/":/g, '": ');
const f16vec = (values: number[]): string => {
  const b = Buffer.alloc(values.length * 2);
  // exact halves for small integers / simple fractions
  values.forEach((v, i) => {
    const f = new Float32Array([v]);
    const x = new Uint32Array(f.buffer)[0]!;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    b.writeUInt16LE(v === 0 ? 0 : ((x >>> 16) & 0x8000) | (exp << 10) | ((x & 0x7fffff) >>> 13), i * 2);
  });
  return deflateSync(b).toString('base64');
};

describe('JSON structure', () => {
  it('truncated KV file → TRUNCATED_JSON naming the file', async () => {
    const p = file(
      'kv_store_full_docs.json',
      '{\n  "doc-1": {\n    "content": "abc"\n  },\n  "doc-2": {\n    "content": "de',
    );
    const e = await expectError(planKv(p, 'full_docs'), 'TRUNCATED_JSON');
    expect(e.file).toBe(p);
    expect(e.message).toContain(p);
    expect(e.byteOffset).toBeGreaterThan(0);
  });
  it('truncated vdb file → TRUNCATED_JSON', async () => {
    const full = vdb(2, [{ __id__: 'a' }], f32b64([1, 0]));
    await expectError(planVdb(file('vdb_chunks.json', full.slice(0, full.length - 5)), 'vdb_chunks'), 'TRUNCATED_JSON');
  });
  it('garbage between records → INVALID_JSON with its byte offset', async () => {
    const text = '{\n  "a": {"x": 1},\n  "b": {"x": 2} "c": {}\n}';
    const e = await expectError(planKv(file('kv_store_full_docs.json', text), 'full_docs'), 'INVALID_JSON');
    expect(e.byteOffset).toBe(text.indexOf('"c"'));
  });
  it('Python NaN literal → INVALID_JSON mentioning NaN', async () => {
    const e = await expectError(
      planVdb(
        file(
          'vdb_chunks.json',
          '{"embedding_dim": 1, "data": [{"__id__": "a", "__created_at__": NaN}], "matrix": "AACAPw=="}',
        ),
        'vdb_chunks',
      ),
      'INVALID_JSON',
    );
    expect(e.message).toMatch(/NaN/);
  });
  it('bad escape inside a record → INVALID_JSON at batch read with record index', async () => {
    const p = file('kv_store_text_chunks.json', '{\n  "a": {"x": "ok"},\n  "b": {"x": "bad \\q escape"}\n}');
    const plan = await planKv(p, 'text_chunks', { batchSize: 10 });
    const e = await expectError(readKvBatch(plan, 0), 'INVALID_JSON');
    expect(e.recordIndex).toBe(1);
  });
  it('a lazily parsed batch opens, yields the good records, then throws at the damaged one', async () => {
    const kv = file('kv_store_text_chunks.json', '{\n  "a": {"x": "ok"},\n  "b": {"x": "bad \\q escape"}\n}');
    const batch = await openKvBatch(await planKv(kv, 'text_chunks', { batchSize: 10 }), 0);
    expect(batch.count).toBe(2);
    const it = batch.records[Symbol.iterator]();
    expect(it.next().value).toEqual({ key: 'a', value: { x: 'ok' } });
    let thrown: unknown;
    try {
      it.next();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SourceError);
    expect((thrown as SourceError).code).toBe('INVALID_JSON');
    expect((thrown as SourceError).recordIndex).toBe(1);

    const vd = file(
      'vdb_chunks.json',
      vdb(2, [{ __id__: 'a' }, { __id__: 'b', content: 'x' }], f32b64([1, 2, 3, 4])).replace('"x"', '"bad \\q"'),
    );
    const vbatch = await openVectorBatch(await planVdb(vd, 'vdb_chunks', { batchSize: 10 }), 0);
    expect(vbatch.count).toBe(2);
    const records = vbatch.records[Symbol.iterator]();
    expect(records.next().value).toMatchObject({ id: 'a', vector: new Float32Array([1, 2]) });
    expect(() => records.next()).toThrow(/record 1 at byte \d+ is not valid JSON/);
  });
  it('empty file and whitespace-only file → EMPTY_FILE', async () => {
    await expectError(planKv(file('kv_store_full_docs.json', ''), 'full_docs'), 'EMPTY_FILE');
    await expectError(planVdb(file('vdb_chunks.json', '  \n'), 'vdb_chunks'), 'EMPTY_FILE');
    await expectError(planGraphml(file('graph.graphml', '')), 'EMPTY_FILE');
  });
  it('a KV value that is not an object → INVALID_RECORD with its record index', async () => {
    const e = await expectError(
      planKv(file('kv_store_full_docs.json', '{"a": {}, "b": "text"}'), 'full_docs'),
      'INVALID_RECORD',
    );
    expect(e.recordIndex).toBe(1);
  });
});

describe('UTF-8', () => {
  it('invalid UTF-8 → INVALID_UTF8 at the exact byte offset', async () => {
    const head = Buffer.from('{\n  "a": {"content": "caf');
    const content = Buffer.concat([head, Buffer.from([0xc3, 0x28]), Buffer.from('"}\n}')]);
    const e = await expectError(planKv(file('kv_store_full_docs.json', content), 'full_docs'), 'INVALID_UTF8');
    expect(e.byteOffset).toBe(head.length);
  });
  it('multi-byte characters split across chunk boundaries are fine', async () => {
    const text = JSON.stringify({ a: { content: '小米公司'.repeat(50) }, b: { content: 'ü€😀'.repeat(40) } }, null, 2);
    const p = file('kv_store_full_docs.json', text);
    for (const chunkSize of [1, 2, 3, 5, 7, 64]) {
      const plan = await planKv(p, 'full_docs', { chunkSize, batchSize: 1 });
      expect(plan.recordCount).toBe(2);
      const recs = await readKvBatch(plan, 1);
      expect(recs[0]!.value).toEqual({ content: 'ü€😀'.repeat(40) });
    }
  });
});

describe('vectors and matrix', () => {
  it('matrix length not len(data) × D × 4 → MATRIX_LENGTH / DIMENSION_CONFLICT', async () => {
    // 3 floats for 2 records: not divisible
    await expectError(
      planVdb(
        file('vdb_chunks.json', vdb(undefined, [{ __id__: 'a' }, { __id__: 'b' }], f32b64([1, 2, 3]))),
        'vdb_chunks',
      ),
      'MATRIX_LENGTH',
    );
    // embedding_dim 3 but the matrix holds 2 × 2 floats
    const e = await expectError(
      planVdb(file('vdb_chunks.json', vdb(3, [{ __id__: 'a' }, { __id__: 'b' }], f32b64([1, 2, 3, 4]))), 'vdb_chunks'),
      'DIMENSION_CONFLICT',
    );
    expect(e.message).toMatch(/implies 2/);
    // matrix with no records
    await expectError(planVdb(file('vdb_chunks.json', vdb(2, [], f32b64([1, 2]))), 'vdb_chunks'), 'MATRIX_LENGTH');
  });
  it('invalid base64 in the matrix → INVALID_BASE64 at its byte offset (at planning)', async () => {
    const good = f32b64([1, 2, 3, 4, 5, 6]);
    const bad = good.slice(0, 5) + '*' + good.slice(6);
    const text = vdb(3, [{ __id__: 'a' }, { __id__: 'b' }], bad);
    const e = await expectError(planVdb(file('vdb_chunks.json', text), 'vdb_chunks'), 'INVALID_BASE64');
    expect(e.byteOffset).toBe(text.indexOf('*'));
  });
  it('a matrix damaged after planning (size, mtime and fingerprint unchanged) → INVALID_BASE64 at its byte offset from the batch read', async () => {
    const dim = 64;
    const n = 1200; // 1200 × 64 floats: 409,600 base64 characters, well past the fingerprinted head and tail
    const values = Array.from({ length: n * dim }, (_, i) => (i % 97) / 7);
    const text = vdb(
      dim,
      Array.from({ length: n }, (_, i) => ({ __id__: `r${i}` })),
      f32b64(values),
    );
    const p = file('vdb_chunks.json', text);
    const plan = await planVdb(p, 'vdb_chunks', { batchSize: 100 });
    const at = text.indexOf('"matrix"') + 200_000;
    const damaged = Buffer.from(text);
    damaged[at] = '*'.charCodeAt(0);
    writeFileSync(p, damaged);
    // a change the identity check cannot see: same size, head and tail; the mtime as planned
    utimesSync(p, plan.mtimeMs / 1000, plan.mtimeMs / 1000);
    plan.mtimeMs = statSync(p).mtimeMs;
    const batch = Math.floor(((at - plan.matrixOffset) * 3) / 4 / (dim * 4) / 100);
    const e = await expectError(readVectorBatch(plan, batch), 'INVALID_BASE64');
    expect(e.byteOffset).toBe(at);
    // the batches before it read fine
    expect((await readVectorBatch(plan, 0)).length).toBe(100);
  });
  it('NaN / ±Inf in a vector are read as they are (the loader rejects that record alone)', async () => {
    const p = file(
      'vdb_chunks.json',
      vdb(2, [{ __id__: 'a' }, { __id__: 'b' }, { __id__: 'c' }], f32b64([1, 0, 0, 1, NaN, 1])),
    );
    const plan = await planVdb(p, 'vdb_chunks', { batchSize: 2 });
    expect((await readVectorBatch(plan, 0)).length).toBe(2);
    const [c] = await readVectorBatch(plan, 1);
    expect(c!.id).toBe('c');
    expect(Number.isNaN(c!.vector[0])).toBe(true);
    expect(c!.vector[1]).toBe(1);
    const p2 = file('vdb_chunks.json', vdb(2, [{ __id__: 'a' }], f32b64([Infinity, 0])));
    expect((await readVectorBatch(await planVdb(p2, 'vdb_chunks'), 0))[0]!.vector[0]).toBe(Infinity);
  });
  it('empty matrix "" with records and no per-record vectors → EMPTY_MATRIX', async () => {
    await expectError(planVdb(file('vdb_chunks.json', vdb(2, [{ __id__: 'a' }], '')), 'vdb_chunks'), 'EMPTY_MATRIX');
  });
  it('empty matrix with per-record float16 vectors → read from the records', async () => {
    const p = file(
      'vdb_chunks.json',
      vdb(
        undefined,
        [
          { __id__: 'a', vector: f16vec([1, 0.5, -2]) },
          { __id__: 'b', vector: f16vec([0, 0.25, 4]) },
        ],
        '',
      ),
    );
    const plan = await planVdb(p, 'vdb_chunks');
    expect(plan).toMatchObject({ vectorSource: 'record', dim: 3, dimSource: 'vector' });
    const recs = await readVectorBatch(plan, 0);
    expect(Array.from(recs[0]!.vector)).toEqual([1, 0.5, -2]);
    expect(Array.from(recs[1]!.vector)).toEqual([0, 0.25, 4]);
    expect(recs[0]!.fields).toEqual({});
  });
  it('per-record vectors that disagree with embedding_dim → DIMENSION_CONFLICT', async () => {
    await expectError(
      planVdb(file('vdb_chunks.json', vdb(4, [{ __id__: 'a', vector: f16vec([1, 2, 3]) }], '')), 'vdb_chunks'),
      'DIMENSION_CONFLICT',
    );
  });
  it('invalid base64 in a per-record vector → INVALID_BASE64 naming the record', async () => {
    const e = await expectError(
      planVdb(file('vdb_chunks.json', vdb(2, [{ __id__: 'a', vector: 'not*base64' }], '')), 'vdb_chunks'),
      'INVALID_BASE64',
    );
    expect(e.recordIndex).toBe(0);
  });
  it('dimension order: embedding_dim, then matrix, then default; LIGHTRAG_EMBEDDING_DIM overrides', async () => {
    const m = f32b64([1, 0, 0, 0, 1, 0]);
    const two = [{ __id__: 'a' }, { __id__: 'b' }];
    expect(await planVdb(file('vdb_chunks.json', vdb(3, two, m)), 'vdb_chunks', { env: {} })).toMatchObject({
      dim: 3,
      dimSource: 'embedding_dim',
    });
    expect(await planVdb(file('vdb_chunks.json', vdb(undefined, two, m)), 'vdb_chunks', { env: {} })).toMatchObject({
      dim: 3,
      dimSource: 'matrix',
    });
    expect(await planVdb(file('vdb_chunks.json', vdb(undefined, [], '')), 'vdb_chunks', { env: {} })).toMatchObject({
      dim: 1536,
      dimSource: 'default',
    });
    expect(
      await planVdb(file('vdb_chunks.json', vdb(7, two, m)), 'vdb_chunks', { env: { LIGHTRAG_EMBEDDING_DIM: '3' } }),
    ).toMatchObject({ dim: 3, dimSource: 'env' });
    await expectError(
      planVdb(file('vdb_chunks.json', vdb(3, two, m)), 'vdb_chunks', { env: { LIGHTRAG_EMBEDDING_DIM: '2' } }),
      'DIMENSION_CONFLICT',
    );
    await expectError(
      planVdb(file('vdb_chunks.json', vdb(3, two, m)), 'vdb_chunks', { env: { LIGHTRAG_EMBEDDING_DIM: 'abc' } }),
      'DIMENSION_CONFLICT',
    );
  });
});

describe('duplicates', () => {
  it('duplicate KV keys → DUPLICATE_KEY with the second record index', async () => {
    const e = await expectError(
      planKv(file('kv_store_full_docs.json', '{\n  "a": {},\n  "b": {},\n  "a": {"x": 1}\n}'), 'full_docs'),
      'DUPLICATE_KEY',
    );
    expect(e.recordIndex).toBe(2);
    expect(e.message).toContain('"a"');
  });
  it('duplicate __id__ in a vdb file → DUPLICATE_KEY', async () => {
    const e = await expectError(
      planVdb(
        file('vdb_chunks.json', vdb(1, [{ __id__: 'x' }, { __id__: 'y' }, { __id__: 'x' }], f32b64([1, 2, 3]))),
        'vdb_chunks',
      ),
      'DUPLICATE_KEY',
    );
    expect(e.recordIndex).toBe(2);
  });
  it('duplicate GraphML node ids → DUPLICATE_KEY', async () => {
    const g = `<?xml version='1.0' encoding='utf-8'?><graphml><graph edgedefault="undirected"><node id="a"/><node id="b"/><node id="a"/></graph></graphml>`;
    await expectError(planGraphml(file('g.graphml', g)), 'DUPLICATE_KEY');
  });
  it('the same key in different legacy cache modes is not a duplicate', async () => {
    const text = JSON.stringify(
      { default: { h1: { return: 'x' } }, global: { h1: { return: 'y', cache_type: 'query' } } },
      null,
      2,
    );
    const plan = await planKv(file('kv_store_llm_response_cache.json', text), 'llm_response_cache');
    expect((await readKvBatch(plan, 0)).map((r) => r.key)).toEqual(['default:extract:h1', 'global:query:h1']);
  });
});

describe('GraphML', () => {
  const head = `<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><key id="d0" for="node" attr.name="entity_type" attr.type="string"/>\n<key id="d1" for="edge" attr.name="weight" attr.type="double"/>\n<graph edgedefault="undirected">`;
  it('unknown attribute key → UNKNOWN_GRAPHML_KEY at planning', async () => {
    const g = `${head}<node id="a"><data key="d0">x</data></node><node id="b"><data key="d9">y</data></node></graph></graphml>`;
    const e = await expectError(planGraphml(file('g.graphml', g)), 'UNKNOWN_GRAPHML_KEY');
    expect(e.message).toContain('"d9"');
    expect(e.recordIndex).toBe(1);
  });
  it('malformed XML → INVALID_XML with line and column', async () => {
    const e = await expectError(
      planGraphml(file('g.graphml', `${head}<node id="a"></edge></graph></graphml>`)),
      'INVALID_XML',
    );
    expect(e.message).toMatch(/line \d+, column \d+/);
  });
  it('truncated GraphML → INVALID_XML', async () => {
    await expectError(planGraphml(file('g.graphml', `${head}<node id="a"><data key="d0">x</da`)), 'INVALID_XML');
  });
  it('typed attributes, entities, comments and CDATA are handled', async () => {
    const g = `${head}<!-- <node id="fake"/> --><node id="&quot;A&quot; &amp; B"><data key="d0"><![CDATA[<x>]]></data></node><node id="c"/><edge source="c" target="&quot;A&quot; &amp; B"><data key="d1">2.5</data></edge></graph></graphml>`;
    const { nodes, edges } = await planGraphml(file('g.graphml', g), { batchSize: 1 });
    expect(nodes.recordCount).toBe(2);
    expect(await readBatch(nodes, 0)).toEqual([{ id: '"A" & B', attributes: { entity_type: '<x>' } }]);
    expect(await readBatch(nodes, 1)).toEqual([{ id: 'c', attributes: {} }]);
    expect(await readBatch(edges, 0)).toEqual([{ source: 'c', target: '"A" & B', attributes: { weight: 2.5 } }]);
  });
});

describe('plans and changed files', () => {
  it('a batch read fails with FILE_CHANGED when the file changed after planning', async () => {
    const p = file('kv_store_full_docs.json', JSON.stringify({ a: { content: 'x' }, b: { content: 'y' } }, null, 2));
    const plan = await planKv(p, 'full_docs', { batchSize: 1 });
    expect((await readKvBatch(plan, 1))[0]!.key).toBe('b');
    appendFileSync(p, '\n');
    await expectError(readKvBatch(plan, 1), 'FILE_CHANGED');
  });
  it('same size, different content and same mtime → FILE_CHANGED (fingerprint)', async () => {
    const p = file('kv_store_full_docs.json', JSON.stringify({ a: { content: 'x' } }, null, 2));
    const plan = await planKv(p, 'full_docs');
    writeFileSync(p, JSON.stringify({ a: { content: 'z' } }, null, 2));
    utimesSync(p, new Date(plan.mtimeMs), new Date(plan.mtimeMs));
    await expectError(readKvBatch(plan, 0), 'FILE_CHANGED');
  });
  it('parsePlan rejects a malformed or inconsistent plan with INVALID_PLAN', async () => {
    const p = file('kv_store_full_docs.json', JSON.stringify({ a: {}, b: {} }, null, 2));
    const plan = await planKv(p, 'full_docs', { batchSize: 1 });
    expect(parsePlan(JSON.stringify(plan))).toEqual(plan);
    expect(() => parsePlan({ ...plan, batchSize: 0 })).toThrow(SourceError);
    expect(() => parsePlan({ ...plan, recordCount: 3 })).toThrow(/batches hold 2/);
    expect(() => parsePlan('{nope')).toThrow(/not valid JSON/);
  });
});

describe('discovery', () => {
  it('refuses a folder that is not a LightRAG working directory', async () => {
    const empty = path.join(dir, 'not-lightrag');
    mkdirSync(path.join(empty, 'sub'), { recursive: true });
    writeFileSync(path.join(empty, 'notes.json'), '{}');
    const e = await expectError(discover(empty), 'NOT_LIGHTRAG_DIR');
    expect(e.message).toMatch(/not a LightRAG working directory/);
    await expectError(discover(path.join(dir, 'does-not-exist')), 'NOT_LIGHTRAG_DIR');
  });
  it('reports present, absent and unrecognised files and workspace sub-folders', async () => {
    const root = path.join(dir, 'ws-root');
    mkdirSync(path.join(root, 'team_a'), { recursive: true });
    mkdirSync(path.join(root, '.backups'), { recursive: true });
    writeFileSync(path.join(root, 'kv_store_full_docs.json'), '{}');
    writeFileSync(path.join(root, 'kv_store_parse_cache.json'), '{}');
    writeFileSync(path.join(root, 'team_a', 'vdb_chunks.json'), '{"embedding_dim": 2, "data": [], "matrix": ""}');
    writeFileSync(path.join(root, '.backups', 'vdb_chunks.json'), '{}');
    const d = await discover(root);
    expect(d.workspaces.map((w) => w.workspace)).toEqual(['', 'team_a']);
    expect(d.workspaces[0]!.present.map((p) => p.collection)).toEqual(['full_docs']);
    expect(d.workspaces[0]!.present[0]!.size).toBe(2);
    expect(d.workspaces[0]!.unrecognized).toEqual(['kv_store_parse_cache.json']);
    expect(d.workspaces[0]!.absent).toContain('vdb_chunks');
    expect(d.workspaces[1]!.present.map((p) => p.collection)).toEqual(['vdb_chunks']);
  });
});
