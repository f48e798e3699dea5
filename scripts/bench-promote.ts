/**
 * npm run bench:promote — promote into tables other workspaces already use (issue #15).
 *   BENCH_ROWS (entity vectors per workspace, default 10000), BENCH_DIM (default 1536),
 *   BENCH_ROWS_MODE (0 skips the rows-mode baseline), BENCH_GRAPH (1 adds graph nodes and edges), DATABASE_URL (default: the local services' one).
 * In a fresh database (dropped at the end), four workspaces of the same size are staged and indexed,
 * then: promote A (first: creates the partitioned tables), promote B (second, into tables holding A),
 * promote A2 (a new generation of A: detach + attach), roll A2 back; and, as the baseline, the same
 * rows promoted in rows mode into an unpartitioned LightRAG table that holds A and B with its HNSW index.
 * Prints per step the promote's wall time and how long its transaction held production locks.
 */
import pg from 'pg';
import {
  buildIndexes,
  finishStaging,
  loadBatch,
  planTarget,
  prepareStaging,
  promote,
  rollbackPromote,
  type TargetPlan,
} from '../core/postgres';
import { servicesDatabaseUrl } from './servicesDatabaseUrl';
import { seededRandom, syntheticEntities } from './syntheticEntities';

const rows = Number(process.env.BENCH_ROWS ?? 10_000);
const dim = Number(process.env.BENCH_DIM ?? 1536);
/** BENCH_GRAPH=1: also graph nodes (as many as entities) and edges (0.8 ×), as LightRAG's graph tables hold them */
const withGraph = process.env.BENCH_GRAPH === '1';
const log = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function stage(pool: pg.Pool, plan: TargetPlan, seed: number): Promise<void> {
  const t0 = performance.now();
  const next = seededRandom(seed);
  await prepareStaging(pool, plan);
  for (let i = 0, batch = 0; i < rows; i += 1000, batch++) {
    const records = syntheticEntities(plan.options.workspace, Math.min(1000, rows - i), dim, next).map((r, k) => ({
      ...r,
      id: `ent-${plan.options.workspace}-${i + k}`,
    }));
    await loadBatch(pool, plan, { collection: 'vdb_entities', batchIndex: batch, records });
  }
  if (withGraph) {
    const ws = plan.options.workspace;
    const node = (i: number) => `${ws}-${i}`;
    for (let i = 0, batch = 0; i < rows; i += 1000, batch++) {
      const records = Array.from({ length: Math.min(1000, rows - i) }, (_, k) => ({
        id: node(i + k),
        attributes: { entity_type: 'thing', description: `node ${i + k}`, source_id: 'chunk-1' },
      }));
      await loadBatch(pool, plan, { collection: 'graph_nodes', batchIndex: batch, records });
    }
    const edges = Math.floor(rows * 0.8);
    for (let i = 0, batch = 0; i < edges; i += 1000, batch++) {
      const records = Array.from({ length: Math.min(1000, edges - i) }, (_, k) => ({
        source: node(i + k),
        target: node((i + k + 1) % rows),
        attributes: { weight: 1, description: `edge ${i + k}`, source_id: 'chunk-1' },
      }));
      await loadBatch(pool, plan, { collection: 'graph_edges', batchIndex: batch, records });
    }
  }
  await finishStaging(pool, plan);
  await buildIndexes(pool, plan);
  log(`staged and indexed ${plan.options.workspace} in ${plan.targetSchema}: ${seconds(performance.now() - t0)}`);
}

interface Step {
  step: string;
  ms: number;
  transactionMs: number;
  mode: string;
}

async function timed(step: string, fn: () => Promise<{ transactionMs?: number; mode: string }>): Promise<Step> {
  const t0 = performance.now();
  const r = await fn();
  const s = { step, ms: performance.now() - t0, transactionMs: r.transactionMs ?? NaN, mode: r.mode };
  log(`${step}: ${seconds(s.ms)} (transaction ${Number.isNaN(s.transactionMs) ? '-' : seconds(s.transactionMs)})`);
  return s;
}

/** the entity table's mode, and the graph tables' after a slash */
const entityMode = (r: { tables: { table: string; mode: string }[] }) => {
  const mode = (table: string) => r.tables.find((t) => t.table === table)?.mode ?? '-';
  return withGraph ? `${mode('lightrag_vdb_entity')}/${mode('lightrag_graph_edges')}` : mode('lightrag_vdb_entity');
};

/** An unpartitioned LightRAG entity table (as LightRAG creates it) holding every row of `from`, indexed after the data. */
async function plainCopy(pool: pg.Pool, plan: TargetPlan, schema: string): Promise<void> {
  const spec = plan.layout.tables.find((t) => t.name === 'lightrag_vdb_entity')!;
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(
    `CREATE TABLE ${schema}.lightrag_vdb_entity (LIKE public.lightrag_vdb_entity INCLUDING DEFAULTS, PRIMARY KEY (workspace, id))`,
  );
  await pool.query(`INSERT INTO ${schema}.lightrag_vdb_entity SELECT * FROM public.lightrag_vdb_entity`);
  await pool.query(`SET maintenance_work_mem = '1GB'`);
  for (const idx of spec.indexes) await pool.query(`CREATE INDEX ON ${schema}.lightrag_vdb_entity ${idx.using}`);
}

async function main(): Promise<void> {
  const url = servicesDatabaseUrl();
  const name = `hybridrag_bench_promote_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: target.toString(), max: 2 });
  pool.on('error', () => undefined);
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS vector');
    const plan = (id: string, workspace: string, targetSchema = 'public') =>
      planTarget({ migrationId: `bench-${id}`, workspace, dimension: dim, targetSchema });
    const [a, b, a2] = [plan('a', 'alpha'), plan('b', 'beta'), plan('a2', 'alpha')];
    log(`${rows} entity vectors × ${dim} dims per workspace`);
    for (const [i, p] of [a, b, a2].entries()) await stage(pool, p, i + 1);
    const steps: Step[] = [];
    const run = (step: string, p: TargetPlan) =>
      timed(step, async () => {
        const r = await promote(pool, p);
        return { transactionMs: r.transactionMs, mode: entityMode(r) };
      });
    steps.push(await run('first promote (empty database)', a));
    steps.push(await run('second promote (tables hold the first)', b));
    steps.push(await run('new generation of the first (detach + attach)', a2));
    steps.push(
      await timed('rollback of that generation', async () => {
        const r = await rollbackPromote(pool, a2);
        return { mode: entityMode(r) };
      }),
    );
    if (process.env.BENCH_ROWS_MODE !== '0') {
      const t0 = performance.now();
      await plainCopy(pool, a, 'plain');
      log(`unpartitioned baseline table with A and B built: ${seconds(performance.now() - t0)}`);
      const c = plan('c', 'gamma', 'plain');
      await stage(pool, c, 4);
      steps.push(await run('rows mode: promote into an unpartitioned shared table', c));
    }
    const first = steps[0]!.ms;
    process.stdout.write(
      `\n${'step'.padEnd(56)} ${'mode'.padEnd(11)} ${'total'.padStart(10)} ${'txn'.padStart(10)}  ÷ first\n`,
    );
    for (const s of steps) {
      const txn = Number.isNaN(s.transactionMs) ? '-' : seconds(s.transactionMs);
      process.stdout.write(
        `${s.step.padEnd(56)} ${s.mode.padEnd(11)} ${seconds(s.ms).padStart(10)} ${txn.padStart(10)}  ${(s.ms / first).toFixed(2)}\n`,
      );
    }
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error) => {
  process.stderr.write(`bench:promote failed: ${(error as Error).message}\n`);
  process.exit(1);
});
