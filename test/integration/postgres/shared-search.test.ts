import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import { planTarget, promote, rollbackPromote, type PromoteResult, type TargetPlan } from '../../../core/postgres';
import type { VectorRecord } from '../../../core/source/records';
import { seededRandom, syntheticEntities } from '../../../scripts/syntheticEntities';
import { cosineTopK, lightragPython, runLightragProbe } from './lightragProbe';
import { stageFixture } from './stageHelper';

/**
 * A large, a medium (~7 % of the rows) and a small workspace migrated into one database (the
 * issue's shape: 20,000 / 1,500 / 60 entity vectors), then LightRAG itself writes to them and
 * creates two workspaces of its own (they share the DEFAULT partition). LightRAG's vector query
 * must return the exact top-10 for every workspace, with custom and with generic plans.
 */
const DIM = 16;
const SIZES = { big: 20_000, mid: 1_500, small: 60 };

let db: ScratchDatabase;
let python = '';
beforeAll(async () => {
  python = lightragPython();
  db = await createScratchDatabase('shared_search');
}, 900_000);
afterAll(async () => {
  await db?.drop();
});

const entities = (ws: string, n: number, seed: number) => syntheticEntities(ws, n, DIM, seededRandom(seed));

const stage = (plan: TargetPlan, records: VectorRecord[]) =>
  stageFixture(db.pool, plan, { kv: {}, vectors: { vdb_entities: records }, dim: DIM, nodes: [], edges: [] }, 5_000);

describe('vector search stays complete for every workspace of shared tables', () => {
  const source: Record<string, VectorRecord[]> = {};
  const promoted: Record<string, PromoteResult> = {};

  it('promotes three workspaces of very different sizes, each into its own partition', async () => {
    for (const [i, [ws, n]] of Object.entries(SIZES).entries()) {
      source[ws] = entities(ws, n, i + 1);
      const plan = planTarget({ migrationId: `search-${ws}`, workspace: ws, dimension: DIM });
      await stage(plan, source[ws]);
      promoted[ws] = await promote(db.pool, plan);
      expect(promoted[ws].tables.find((t) => t.table === 'lightrag_vdb_entity')).toMatchObject({
        mode: 'attach',
        rows: n,
      });
    }
    const { rows } = await db.pool.query<{ ws: string; part: string }>(
      `SELECT DISTINCT workspace AS ws, tableoid::regclass::text AS part FROM public.lightrag_vdb_entity ORDER BY 1`,
    );
    expect(rows.map((r) => r.ws)).toEqual(['big', 'mid', 'small']);
    expect(new Set(rows.map((r) => r.part)).size).toBe(3);
    expect(promoted.big!.notes.join(' ')).toMatch(/hnsw\.iterative_scan set to strict_order/);
  }, 600_000);

  it("LightRAG's own query returns the brute-force top-10 for the medium, the small and LightRAG-made workspaces, with custom and generic plans", async () => {
    // LightRAG writes after the migration: an upsert into `mid`, a delete from `small`, and two
    // workspaces it creates itself (a larger and a small one: both land in the DEFAULT partition)
    const next = seededRandom(99);
    const made = (ws: string, n: number) => syntheticEntities(ws, n, DIM, next);
    source['lr-made'] = made('lr-made', 3_000);
    source['lr-small'] = made('lr-small', 25);
    const midNew = made('mid-new', 1)[0]!;
    const upsert = (rs: VectorRecord[]) =>
      Object.fromEntries(rs.map((r) => [r.id, { entity_name: r.fields.entity_name, vector: Array.from(r.vector) }]));
    const writes = [
      { workspace: 'mid', upsert: upsert([midNew]) },
      { workspace: 'small', delete: [source.small![0]!.id] },
      { workspace: 'lr-made', upsert: upsert(source['lr-made']) },
      { workspace: 'lr-small', upsert: upsert(source['lr-small']) },
    ];
    source.mid!.push(midNew);
    source.small!.shift();

    const queries: { workspace: string; vector: number[]; top_k: number; expected: string[] }[] = [];
    for (const ws of ['mid', 'small', 'lr-small', 'lr-made']) {
      const rows = source[ws]!;
      const names = new Map(rows.map((r) => [r.id, r.fields.entity_name as string]));
      for (let k = 0; k < 3; k++) {
        const q = Float32Array.from({ length: DIM }, next);
        queries.push({
          workspace: ws,
          vector: Array.from(q),
          top_k: 10,
          expected: cosineTopK(q, rows, 10).map((id) => names.get(id)!),
        });
      }
    }
    const spec = { dim: DIM, queries: queries.map(({ expected: _, ...q }) => q) };

    const { result: first, log } = runLightragProbe<{ queries: string[][] }>(
      python,
      'lightrag_search_probe.py',
      { ...spec, writes },
      db.url,
    );
    const defaults = await db.pool.query<{ ws: string; part: string }>(
      `SELECT DISTINCT workspace AS ws, tableoid::regclass::text AS part FROM public.lightrag_vdb_entity WHERE workspace IN ('lr-made', 'lr-small', 'mid')`,
    );
    expect(Object.fromEntries(defaults.rows.map((r) => [r.ws, r.part]))).toMatchObject({
      'lr-made': 'lightrag_vdb_entity_default',
      'lr-small': 'lightrag_vdb_entity_default',
    });
    expect(first.queries).toEqual(queries.map((q) => q.expected));
    // LightRAG's startup checks and migrations ran on the partitioned tables without a failure
    expect(log.split('\n').filter((l) => !l.startsWith('INFO:') && /fail|error/i.test(l))).toEqual([]);

    for (const mode of ['force_generic_plan', 'force_custom_plan']) {
      await db.pool.query(`ALTER DATABASE "${db.name}" SET plan_cache_mode = ${mode}`);
      const { result } = runLightragProbe<{ queries: string[][] }>(python, 'lightrag_search_probe.py', spec, db.url);
      expect(result.queries, mode).toEqual(queries.map((q) => q.expected));
    }
    await db.pool.query(`ALTER DATABASE "${db.name}" RESET plan_cache_mode`);
  }, 600_000);

  it('rolling back the medium workspace restores its previous state only; the setting stays while another promote holds it', async () => {
    const before = await db.pool.query<{ ws: string; n: number }>(
      `SELECT workspace AS ws, count(*)::int AS n FROM public.lightrag_vdb_entity GROUP BY 1 ORDER BY 1`,
    );
    const plan = planTarget({ migrationId: 'search-mid', workspace: 'mid', dimension: DIM });
    const r = await rollbackPromote(db.pool, plan);
    expect(r.rolledBack).toBe(true);
    const after = await db.pool.query<{ ws: string; n: number }>(
      `SELECT workspace AS ws, count(*)::int AS n FROM public.lightrag_vdb_entity GROUP BY 1 ORDER BY 1`,
    );
    expect(after.rows).toEqual(before.rows.filter((x) => x.ws !== 'mid'));
    // the setting was made by the first promote (big), so it is still there
    const s = await db.pool.query(
      `SELECT 1 FROM pg_db_role_setting r JOIN pg_database d ON d.oid = r.setdatabase WHERE d.datname = current_database() AND 'hnsw.iterative_scan=strict_order' = ANY(r.setconfig)`,
    );
    expect(s.rowCount).toBe(1);
  }, 600_000);
});
