/**
 * Generator of large, realistic LightRAG stores in the exact on-disk formats:
 *  - vdb_*.json: one line, Python json.dump defaults (", " and ": " separators, ensure_ascii=False),
 *    `{"embedding_dim": D, "data": [...], "matrix": "<base64 float32>"}`, newer eras with a
 *    per-record `vector` (base64 of zlib float16 of the raw, un-normalised embedding);
 *  - kv_store_*.json: json.dump(indent=2, ensure_ascii=False) — JSON.stringify(v, null, 2) writes
 *    the same bytes for these values (same escapes, "[]"/"{}" for empty containers);
 *  - graph_chunk_entity_relation.graphml as networkx writes it.
 * Deterministic for a given seed. Everything streams to disk (nothing file-sized in memory).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

export type Era = 'old' | 'mid' | 'new' | 'newest';

export interface GenerateOptions {
  out: string;
  /** number of chunks (vdb_chunks / text_chunks records); entities and relations are scaled from it */
  records: number;
  dim: number;
  era?: Era;
  seed?: number;
  /** approximate characters of text per chunk (default 4000, like LightRAG's 1200-token chunks) */
  chunkChars?: number;
  /** only write these files (e.g. ['vdb_chunks.json']); default: the era's full set */
  only?: string[];
}

export interface GeneratedFile {
  name: string;
  size: number;
  records: number;
}

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

const WORDS = (
  'the of and to in is that for on with as by this are from at be or an which it was has have not but its their more ' +
  'data model graph entity relation chunk document vector embedding retrieval knowledge system query answer language ' +
  'company research network memory agent policy insurance card customer product market energy river city science ' +
  '小米 公司 数据 模型 知识 图谱 检索 向量 café naïve résumé Zürich “quoted” — –'
).split(' ');

class Writer {
  private fd: number;
  private parts: string[] = [];
  private pending = 0;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  write(s: string): void {
    this.parts.push(s);
    this.pending += s.length;
    if (this.pending > 4 * 1024 * 1024) this.flush();
  }
  flush(): void {
    if (this.parts.length) writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.pending = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function text(rng: Rng, chars: number): string {
  const out: string[] = [];
  let len = 0;
  while (len < chars) {
    const w = WORDS[rng.int(WORDS.length)]!;
    out.push(w);
    len += w.length + 1;
    if (rng.next() < 0.02) {
      out.push('\n');
      len++;
    }
    if (rng.next() < 0.005) {
      out.push('"quote"\t\\');
      len += 10;
    }
  }
  return out.join(' ');
}

function randomVector(rng: Rng, dim: number, out: Float32Array): number {
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    const v = (rng.next() + rng.next() + rng.next() - 1.5) * 0.1;
    out[i] = v;
    norm += v * v;
  }
  return Math.sqrt(norm);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return exp < -10 ? sign : sign | ((mant | 0x800000) >>> (14 - exp));
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | (mant >>> 13);
}

function recordVector(raw: Float32Array): string {
  const half = Buffer.allocUnsafe(raw.length * 2);
  for (let i = 0; i < raw.length; i++) half.writeUInt16LE(toHalf(raw[i]!), i * 2);
  return deflateSync(half).toString('base64');
}

function py(v: unknown): string {
  // Python json.dumps(ensure_ascii=False) with default separators == JSON.stringify with ", "/": "
  // for our values (strings, ints, floats in repr form, flat objects and arrays of strings)
  if (Array.isArray(v)) return `[${v.map(py).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${JSON.stringify(k)}: ${py(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v);
}

function indentKv(w: Writer, entries: Iterable<[string, unknown]>): number {
  let n = 0;
  w.write('{');
  for (const [k, v] of entries) {
    w.write(n === 0 ? '\n  ' : ',\n  ');
    w.write(`${JSON.stringify(k)}: ${JSON.stringify(v, null, 2).replace(/\n/g, '\n  ')}`);
    n++;
  }
  w.write(n === 0 ? '}' : '\n}');
  return n;
}

interface VdbSpec {
  name: string;
  count: number;
  fields: (i: number) => Record<string, unknown>;
}

function writeVdb(file: string, spec: VdbSpec, dim: number, era: Era, rng: Rng): void {
  const w = new Writer(file);
  w.write(`{"embedding_dim": ${dim}, "data": [`);
  const raw = new Float32Array(dim);
  const rowsPerGroup = 3 * 64; // a multiple of 3 rows → whole base64 groups per write
  const matrix = Buffer.allocUnsafe(rowsPerGroup * dim * 4);
  // the matrix follows all records: keep its base64 in a temp file, then append it
  const tmp = `${file}.matrix.tmp`;
  const mw = new Writer(tmp);
  let inGroup = 0;
  for (let i = 0; i < spec.count; i++) {
    const norm = randomVector(rng, dim, raw);
    const rec: Record<string, unknown> = { __id__: '', ...spec.fields(i) };
    if (era === 'new' || era === 'newest') rec.vector = recordVector(raw);
    w.write((i ? ', ' : '') + py(rec));
    for (let d = 0; d < dim; d++) matrix.writeFloatLE(raw[d]! / norm, (inGroup * dim + d) * 4);
    inGroup++;
    if (inGroup === rowsPerGroup) {
      mw.write(matrix.toString('base64'));
      inGroup = 0;
    }
  }
  if (inGroup) mw.write(matrix.subarray(0, inGroup * dim * 4).toString('base64'));
  mw.close();
  w.write('], "matrix": "');
  w.close();
  const src = openSync(tmp, 'r');
  const dst = openSync(file, 'a');
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  for (;;) {
    const n = readSync(src, buf, 0, buf.length, null);
    if (n === 0) break;
    writeSync(dst, buf, 0, n);
  }
  closeSync(src);
  closeSync(dst);
  unlinkSync(tmp);
  appendFileSync(file, '"}');
}

export function generateStore(opts: GenerateOptions): GeneratedFile[] {
  const era: Era = opts.era ?? 'newest';
  const n = opts.records;
  const dim = opts.dim;
  const rng = new Rng(opts.seed ?? 42);
  const chunkChars = opts.chunkChars ?? 4000;
  mkdirSync(opts.out, { recursive: true });
  const want = (name: string): boolean => !opts.only || opts.only.includes(name);
  const written: GeneratedFile[] = [];
  const done = (name: string, records: number): void => {
    written.push({ name, size: statSync(path.join(opts.out, name)).size, records });
  };

  const docs = Math.max(1, Math.ceil(n / 10));
  const nEnt = Math.max(1, Math.ceil(n / 2));
  const nRel = Math.max(1, Math.ceil(n / 2));
  const quoted = era === 'old';
  const entName = (i: number): string => (quoted ? `"ENTITY ${i}"` : `Entity ${i}`);
  const chunkId = (i: number): string => `chunk-${md5(`chunk${i}`)}`;
  const docId = (i: number): string => `doc-${md5(`doc${i}`)}`;
  const t0 = 1_740_000_000;
  const created = (i: number): number => (era === 'mid' ? t0 + i + 0.4284153 : t0 + i);
  const stamp = (i: number): Record<string, unknown> => (era === 'old' ? {} : { __created_at__: created(i) });
  const chunkText = (i: number): string => text(new Rng(i * 7919 + 1), chunkChars);

  if (want('vdb_chunks.json')) {
    writeVdb(
      path.join(opts.out, 'vdb_chunks.json'),
      {
        name: 'vdb_chunks',
        count: n,
        fields: (i) => ({
          __id__: chunkId(i),
          ...stamp(i),
          ...(era === 'old'
            ? {}
            : { content: chunkText(i), full_doc_id: docId(i % docs), file_path: `doc_${i % docs}.pdf` }),
        }),
      },
      dim,
      era,
      rng,
    );
    done('vdb_chunks.json', n);
  }
  if (want('vdb_entities.json')) {
    writeVdb(
      path.join(opts.out, 'vdb_entities.json'),
      {
        name: 'vdb_entities',
        count: nEnt,
        fields: (i) => ({
          __id__: `ent-${md5(entName(i))}`,
          ...stamp(i),
          entity_name: entName(i),
          ...(era === 'old'
            ? {}
            : {
                content: `${entName(i)}\n${text(rng, 200)}`,
                source_id: chunkId(i % n),
                file_path: `doc_${i % docs}.pdf`,
              }),
        }),
      },
      dim,
      era,
      rng,
    );
    done('vdb_entities.json', nEnt);
  }
  const relPair = (i: number): [string, string] => [entName(i % nEnt), entName((i + 1) % nEnt)];
  if (want('vdb_relationships.json')) {
    writeVdb(
      path.join(opts.out, 'vdb_relationships.json'),
      {
        name: 'vdb_relationships',
        count: nRel,
        fields: (i) => {
          const [s, t] = relPair(i);
          return {
            __id__: `rel-${md5(s + t)}`,
            ...stamp(i),
            src_id: s,
            tgt_id: t,
            ...(era === 'old'
              ? {}
              : {
                  content: `${s}\t${t}\n${text(rng, 150)}`,
                  source_id: chunkId(i % n),
                  file_path: `doc_${i % docs}.pdf`,
                }),
          };
        },
      },
      dim,
      era,
      rng,
    );
    done('vdb_relationships.json', nRel);
  }

  const kv = (name: string, count: number, entry: (i: number) => [string, unknown]): void => {
    if (!want(name)) return;
    const w = new Writer(path.join(opts.out, name));
    const c = indentKv(
      w,
      (function* () {
        for (let i = 0; i < count; i++) yield entry(i);
      })(),
    );
    w.close();
    done(name, c);
  };
  kv('kv_store_full_docs.json', docs, (i) => [
    docId(i),
    { content: text(rng, 2000), ...(era === 'newest' ? { file_path: `doc_${i}.pdf` } : {}) },
  ]);
  kv('kv_store_text_chunks.json', n, (i) => [
    chunkId(i),
    {
      tokens: 1200,
      content: chunkText(i),
      chunk_order_index: Math.floor(i / docs),
      full_doc_id: docId(i % docs),
      ...(era === 'old' ? {} : { file_path: `doc_${i % docs}.pdf` }),
      ...(era === 'new' || era === 'newest'
        ? {
            llm_cache_list: [`default:extract:${md5(`c${i}`)}`],
            create_time: t0 + i,
            update_time: t0 + i,
            _id: chunkId(i),
          }
        : {}),
    },
  ]);
  if (want('kv_store_llm_response_cache.json')) {
    const w = new Writer(path.join(opts.out, 'kv_store_llm_response_cache.json'));
    let c: number;
    if (era === 'mid') {
      // legacy nested form: mode → hash → entry
      const modes = ['default', 'global', 'local', 'hybrid', 'mix'];
      indentKv(
        w,
        modes.map((mode, m) => {
          const entries: Record<string, unknown> = {};
          for (let i = m; i < n; i += modes.length) {
            entries[md5(`c${i}`)] = {
              return: text(rng, 300),
              cache_type: mode === 'default' ? 'extract' : 'query',
              embedding: null,
              embedding_shape: null,
              embedding_min: null,
              embedding_max: null,
              original_prompt: text(rng, 100),
            };
          }
          return [mode, entries] as [string, unknown];
        }),
      );
      c = n;
    } else {
      c = indentKv(
        w,
        (function* () {
          for (let i = 0; i < n; i++) {
            if (era === 'old')
              yield [md5(`c${i}`), { return: text(rng, 300), model: 'gpt-4o-mini' }] as [string, unknown];
            else
              yield [
                `default:extract:${md5(`c${i}`)}`,
                {
                  return: text(rng, 300),
                  cache_type: 'extract',
                  chunk_id: chunkId(i),
                  original_prompt: text(rng, 100),
                  queryparam: null,
                  create_time: t0 + i,
                  update_time: t0 + i,
                  _id: `default:extract:${md5(`c${i}`)}`,
                },
              ] as [string, unknown];
          }
        })(),
      );
    }
    w.close();
    done('kv_store_llm_response_cache.json', c);
  }
  if (era !== 'old') {
    kv('kv_store_doc_status.json', docs, (i) => [
      docId(i),
      {
        status: 'processed',
        chunks_count: 10,
        ...(era === 'mid' ? { content: text(rng, 100) } : { chunks_list: [chunkId(i)] }),
        content_summary: text(rng, 100),
        content_length: 2000,
        created_at: '2025-03-14T08:24:31.336930+00:00',
        updated_at: '2025-03-14T08:25:31.336930+00:00',
        ...(era === 'mid' ? {} : { file_path: `doc_${i}.pdf` }),
        ...(era === 'newest' ? { track_id: `insert_${i}`, metadata: { processing_start_time: t0 + i } } : {}),
      },
    ]);
  }
  if (era === 'newest') {
    kv('kv_store_full_entities.json', docs, (i) => [
      docId(i),
      { entity_names: [entName(i), entName(i + 1)], count: 2, create_time: t0, update_time: t0, _id: docId(i) },
    ]);
    kv('kv_store_full_relations.json', docs, (i) => [
      docId(i),
      { relation_pairs: [relPair(i)], count: 1, create_time: t0, update_time: t0, _id: docId(i) },
    ]);
    kv('kv_store_entity_chunks.json', nEnt, (i) => [
      entName(i),
      { chunk_ids: [chunkId(i % n)], count: 1, create_time: t0, update_time: t0, _id: entName(i) },
    ]);
    kv('kv_store_relation_chunks.json', nRel, (i) => {
      const [s, t] = relPair(i);
      const k = [s, t].sort().join('<SEP>');
      return [k, { chunk_ids: [chunkId(i % n)], count: 1, create_time: t0, update_time: t0, _id: k }];
    });
  }
  if (want('graph_chunk_entity_relation.graphml')) {
    writeGraphml(path.join(opts.out, 'graph_chunk_entity_relation.graphml'), nEnt, nRel, entName, relPair, era, rng);
    done('graph_chunk_entity_relation.graphml', nEnt + nRel);
  }
  return written;
}

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function writeGraphml(
  file: string,
  nodes: number,
  edges: number,
  entName: (i: number) => string,
  relPair: (i: number) => [string, string],
  era: Era,
  rng: Rng,
): void {
  const w = new Writer(file);
  const pretty = era === 'old' || era === 'mid';
  const nl = pretty ? '\n' : '\n';
  const ind = (k: number): string => (pretty ? '  '.repeat(k) : '');
  w.write(
    `<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">`,
  );
  const nodeKeys =
    era === 'old'
      ? ['entity_type', 'description', 'source_id']
      : ['entity_id', 'entity_type', 'description', 'source_id', 'file_path', 'created_at'];
  const edgeKeys =
    era === 'old'
      ? ['weight', 'description', 'keywords', 'source_id']
      : ['weight', 'description', 'keywords', 'source_id', 'file_path', 'created_at'];
  const keyId = new Map<string, string>();
  let k = 0;
  const defs: string[] = [];
  for (const name of nodeKeys) {
    keyId.set(`n:${name}`, `d${k}`);
    defs.push(
      `<key id="d${k++}" for="node" attr.name="${name}" attr.type="${name === 'created_at' ? 'long' : 'string'}"${pretty ? ' ' : ''}/>`,
    );
  }
  for (const name of edgeKeys) {
    keyId.set(`e:${name}`, `d${k}`);
    defs.push(
      `<key id="d${k++}" for="edge" attr.name="${name}" attr.type="${name === 'weight' ? 'double' : name === 'created_at' ? 'long' : 'string'}"${pretty ? ' ' : ''}/>`,
    );
  }
  w.write(
    (pretty ? nl + ind(1) : '') + defs.reverse().join(nl + ind(1)) + nl + ind(1) + '<graph edgedefault="undirected">',
  );
  const data = (kind: 'n' | 'e', name: string, v: string | number): string =>
    `${nl}${ind(3)}<data key="${keyId.get(`${kind}:${name}`)}">${typeof v === 'string' ? xmlEscape(v) : name === 'weight' ? v.toFixed(1) : v}</data>`;
  for (let i = 0; i < nodes; i++) {
    const id = entName(i);
    let s = `${pretty ? nl + ind(2) : ''}<node id="${xmlEscape(id)}">`;
    if (era !== 'old') s += data('n', 'entity_id', id);
    s +=
      data('n', 'entity_type', quotedOr(era, 'PERSON')) +
      data('n', 'description', text(rng, 200)) +
      data('n', 'source_id', `chunk-${i}<SEP>chunk-${i + 1}`);
    if (era !== 'old') s += data('n', 'file_path', `doc_${i}.pdf`) + data('n', 'created_at', 1_740_000_000 + i);
    w.write(`${s}${nl}${ind(2)}</node>${pretty ? '' : nl}`);
  }
  for (let i = 0; i < edges; i++) {
    const [a, b] = relPair(i);
    let s = `${pretty ? nl + ind(2) : ''}<edge source="${xmlEscape(a)}" target="${xmlEscape(b)}">`;
    s +=
      data('e', 'weight', 1.0 + (i % 7)) +
      data('e', 'description', text(rng, 150)) +
      data('e', 'keywords', 'related, linked') +
      data('e', 'source_id', `chunk-${i}`);
    if (era !== 'old') s += data('e', 'file_path', `doc_${i}.pdf`) + data('e', 'created_at', 1_740_000_000 + i);
    w.write(`${s}${nl}${ind(2)}</edge>${pretty ? '' : nl}`);
  }
  w.write(`${pretty ? nl + ind(1) : ''}</graph>${pretty ? nl : ''}</graphml>`);
  w.close();
}

function quotedOr(era: Era, s: string): string {
  return era === 'old' ? `"${s}"` : s.toLowerCase();
}
