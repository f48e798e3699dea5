/**
 * Reads every real LightRAG working directory in ../shared/fixtures/real and checks the results
 * against MANIFEST.tsv (counts, dimensions, files present) and against independent computations
 * (whole-file JSON.parse of these small files, Buffer base64 decoding of the matrix).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  discover,
  openBatch,
  parsePlan,
  planWorkspace,
  readBatch,
  type CollectionPlan,
  type KvRecord,
  type VectorRecord,
  type GraphNode,
  type GraphEdge,
} from '../../../core/source';
import { fixturesRoot, readManifest } from './helpers';

const manifest = readManifest();

const MANIFEST_NAME: Record<string, string> = {
  llm_cache: 'llm_response_cache',
};

/** "full_docs=1;llm_cache=5 modes/28 entries;vdb_entities=376 (matrix rows 376);graphml=378n/259e" */
function expectedCounts(row: ManifestRow): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of row.record_counts!.split(';')) {
    const [name, value] = part.split('=') as [string, string];
    if (name === 'graphml') {
      const m = /^(\d+)n\/(\d+)e$/.exec(value)!;
      out.set('graph_nodes', Number(m[1]));
      out.set('graph_edges', Number(m[2]));
    } else {
      const entries = /(\d+) entries/.exec(value);
      out.set(MANIFEST_NAME[name] ?? name, Number(entries ? entries[1] : /^\d+/.exec(value)![0]));
    }
  }
  return out;
}
type ManifestRow = Record<string, string>;

function expectedDims(row: ManifestRow): Map<string, number> {
  const out = new Map<string, number>();
  if (!row.embedding_dim) return out;
  for (const part of row.embedding_dim.split(';')) {
    const [name, value] = part.split('=') as [string, string];
    out.set(name, Number(value));
  }
  return out;
}

async function readAllOf(plan: CollectionPlan): Promise<unknown[]> {
  const out: unknown[] = [];
  // round-trip through JSON like a Temporal payload
  const p = parsePlan(JSON.parse(JSON.stringify(plan)));
  for (let k = 0; k < p.batches.length; k++) {
    const whole = await readBatch(p, k);
    // the loader's lazily parsed batch yields the very same records
    const lazy = await openBatch(p, k);
    expect(lazy.count).toBe(whole.length);
    expect([...lazy.records]).toEqual(whole);
    out.push(...whole);
  }
  return out;
}

function fileNameToCollection(name: string): string[] {
  if (name === 'graphml') return ['graph_nodes', 'graph_edges'];
  if (name === 'llm_cache') return ['llm_response_cache'];
  return [name];
}

describe('real LightRAG working directories (MANIFEST.tsv)', () => {
  it('covers every fixture directory', () => {
    expect(manifest.length).toBeGreaterThanOrEqual(10);
  });

  for (const row of manifest) {
    const folder = row.local_folder!;
    it(`${folder}: discovery, counts, dimensions, full read`, async () => {
      const dir = path.join(fixturesRoot, folder);
      const isSubWorkspace = folder.includes('/');
      const disc = await discover(isSubWorkspace ? path.dirname(dir) : dir);
      const ws = disc.workspaces.find((w) => w.workspace === (isSubWorkspace ? path.basename(folder) : ''))!;
      expect(ws, 'workspace found').toBeDefined();

      // present / absent collections as the manifest lists them
      const present = new Set(ws.present.map((p) => p.collection));
      for (const f of row.files_present!.split(',').filter(Boolean))
        for (const c of fileNameToCollection(f)) expect(present.has(c as never), `${c} present`).toBe(true);
      for (const f of row.files_missing_in_source_dir!.split(',').filter(Boolean))
        for (const c of fileNameToCollection(f)) expect(ws.absent).toContain(c);

      const plans = await planWorkspace(ws, { batchSize: 7 });
      const counts = expectedCounts(row);
      const dims = expectedDims(row);
      for (const plan of plans) {
        const expected = counts.get(plan.collection);
        expect(expected, `manifest has a count for ${plan.collection}`).toBeDefined();
        expect(plan.recordCount, `${plan.collection} count`).toBe(expected);
        if (plan.kind === 'vdb') expect(plan.dim, `${plan.collection} dim`).toBe(dims.get(plan.collection));
        const records = await readAllOf(plan);
        expect(records.length, `${plan.collection} records read`).toBe(expected);
        expect(JSON.stringify(plan).length).toBeLessThan(2_000_000);
      }

      // quoted GraphML ids ("graphml quoted ids 378/378")
      const quoted = /graphml quoted ids (\d+)\/(\d+)/.exec(row.era_evidence ?? '');
      const nodesPlan = plans.find((p) => p.collection === 'graph_nodes');
      if (quoted && nodesPlan) {
        const nodes = (await readAllOf(nodesPlan)) as GraphNode[];
        expect(nodes.filter((n) => n.id.startsWith('"') && n.id.endsWith('"')).length).toBe(Number(quoted[1]));
      }
    });
  }
});

/** float16 → float32 written independently of core/source/vectors.ts (bit arithmetic via DataView). */
function halfToFloat(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('record contents against an independent whole-file parse', () => {
  const dirs = manifest.map((r) => r.local_folder!);
  for (const folder of dirs) {
    it(`${folder}: every record and vector equals JSON.parse of the whole file`, async () => {
      const dir = path.join(fixturesRoot, folder);
      const disc = await discover(dir);
      const ws = disc.workspaces.find((w) => w.workspace === '')!;
      const plans = await planWorkspace(ws, { batchSize: 5 });
      for (const plan of plans) {
        if (plan.kind === 'kv') {
          const whole = JSON.parse(readFileSync(plan.file, 'utf8')) as Record<string, Record<string, unknown>>;
          // LightRAG's flattening rule, written out independently
          const keys = Object.keys(whole);
          const firstIsFlat = keys.length > 0 && keys[0]!.split(':').length === 3;
          const expected: Array<[string, unknown]> = [];
          for (const [k, v] of Object.entries(whole)) {
            const values = Object.values(v);
            const nested =
              plan.collection === 'llm_response_cache' &&
              !firstIsFlat &&
              values.length > 0 &&
              values.every((e) => e !== null && typeof e === 'object' && 'return' in e);
            if (nested)
              for (const [h, e] of Object.entries(v))
                expected.push([
                  `${k}:${((e as Record<string, unknown>).cache_type as string | undefined) ?? 'extract'}:${h}`,
                  e,
                ]);
            else expected.push([k, v]);
          }
          const got = (await readAllOf(plan)) as KvRecord[];
          // Object.entries reorders integer-like keys; compare as maps
          expect(new Map(got.map((r) => [r.key, r.value]))).toEqual(new Map(expected));
          expect(got.length).toBe(expected.length);
        } else if (plan.kind === 'vdb') {
          const whole = JSON.parse(readFileSync(plan.file, 'utf8')) as {
            data: Array<Record<string, unknown>>;
            matrix: string;
            embedding_dim: number;
          };
          const got = (await readAllOf(plan)) as VectorRecord[];
          const m = Buffer.from(whole.matrix, 'base64');
          const D = whole.embedding_dim;
          expect(m.length).toBe(whole.data.length * D * 4);
          for (const [i, rec] of whole.data.entries()) {
            const r = got[i]!;
            expect(r.id).toBe(rec.__id__);
            const { __id__: _id, vector, ...fields } = rec;
            expect(r.fields).toEqual(fields);
            const row = new Float32Array(D);
            for (let d = 0; d < D; d++) row[d] = m.readFloatLE((i * D + d) * 4);
            expect(Buffer.from(r.vector.buffer, r.vector.byteOffset, D * 4).equals(Buffer.from(row.buffer))).toBe(true);
            if (typeof vector === 'string') {
              const raw = inflateSync(Buffer.from(vector, 'base64'));
              const half = Array.from({ length: raw.length / 2 }, (_, j) => halfToFloat(raw.readUInt16LE(j * 2)));
              expect(half.length).toBe(D);
              expect(cosine(half, row)).toBeGreaterThan(0.999);
            }
          }
        } else if (plan.collection === 'graph_edges') {
          const edges = (await readAllOf(plan)) as GraphEdge[];
          const text = readFileSync(plan.file, 'utf8');
          expect(edges.length).toBe((text.match(/<edge /g) ?? []).length);
          for (const e of edges) expect(typeof e.source).toBe('string');
          if (edges.length && /attr\.name="weight"/.test(text))
            expect(edges.every((e) => typeof e.attributes.weight === 'number')).toBe(true);
        }
      }
    });
  }
});
