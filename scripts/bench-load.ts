/**
 * npm run bench:load — loader throughput vs a raw binary COPY of the same pre-encoded rows, and the
 * vector index build time, for one set of records (default 100k × 1536 dims) in one run.
 *   BENCH_ROWS, BENCH_DIM,
 *   BENCH_BATCH     rows per batch; a comma list measures several sizes (default 1000, the tool's --batch-size)
 *   BENCH_PARALLEL  batches in flight at once, for BOTH sides (default 2, the tool's --parallelism)
 *   BENCH_SEGMENTS  how many alternating segments each side's batches are split into (default 20)
 *   BENCH_INDEX=0 to skip the index build, BENCH_MWM (maintenance_work_mem for it),
 *   DATABASE_URL (default: the local services' one from scripts/services.sh env).
 * Works in its own staging schemas in that database and drops them at the end.
 *
 * Fairness: both sides load the same records, batch by batch, into the same kind of staging table
 * (two fresh schemas of the same plan), one transaction per batch, with the same number of
 * connections and batches in flight. The machine is shared, so the two sides are not run one after
 * the other (the second would see other load and a bigger WAL backlog): the batches are cut into
 * segments run in ABBA order (ours, raw, raw, ours, …), and each side's time is the sum of its
 * segments. Client CPU per row is printed as well: it is what the loader adds and is less noisy.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { VectorRecord } from '../core/source/records';
import { runPool } from './runPool';
import {
  BinaryCopyEncoder,
  buildIndexes,
  cleanupStaging,
  copyHeader,
  copySql,
  copyTrailer,
  copyTypes,
  loadBatch,
  planTarget,
  prepareStaging,
  tableSpec,
  type TargetPlan,
} from '../core/postgres';
import { servicesDatabaseUrl } from './servicesDatabaseUrl';

function makeRecords(n: number, dim: number): VectorRecord[] {
  let seed = 42;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const out: VectorRecord[] = [];
  for (let i = 0; i < n; i++) {
    const v = new Float32Array(dim);
    let norm = 0;
    for (let k = 0; k < dim; k++) norm += (v[k] = rand()) ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < dim; k++) v[k] = v[k]! / norm;
    const name = `ENTITY ${i}`;
    out.push({
      id: `ent-${i.toString(16).padStart(32, '0')}`,
      fields: {
        entity_name: name,
        content: `${name}\nA benchmark entity number ${i}.`,
        source_id: `chunk-${i % 977}<SEP>chunk-${i % 131}`,
        file_path: 'bench.txt',
        __created_at__: 1_760_000_000,
      },
      vector: v,
    });
  }
  return out;
}

interface Side {
  ms: number;
  cpuUs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en');

async function benchOne(
  pool: pg.Pool,
  records: VectorRecord[],
  dim: number,
  batchSize: number,
  parallel: number,
  segments: number,
  stamp: string,
  keep: boolean,
): Promise<TargetPlan> {
  const rows = records.length;
  const plan = planTarget({
    migrationId: `bench-${stamp}-${batchSize}`,
    workspace: 'bench',
    dimension: dim,
    maintenanceWorkMem: process.env.BENCH_MWM ?? '2GB',
    parallelWorkers: 1,
  });
  const rawPlan = planTarget({ migrationId: `bench-raw-${stamp}-${batchSize}`, workspace: 'bench', dimension: dim });
  try {
    await prepareStaging(pool, plan);
    await prepareStaging(pool, rawPlan);
    const batchCount = Math.ceil(rows / batchSize);
    const batch = (b: number) => records.slice(b * batchSize, (b + 1) * batchSize);

    // raw: the same rows mapped and encoded by the same encoder beforehand (not timed), in the
    // loader's chunk size; timed is only BEGIN, COPY … FROM STDIN (FORMAT binary) of those bytes, COMMIT
    const spec = tableSpec(rawPlan, 'lightrag_vdb_entity');
    const mapping = rawPlan.layout.collections.vdb_entities!;
    const now = Date.now();
    const encoded: Buffer[][] = [];
    for (let b = 0; b < batchCount; b++) {
      const enc = new BinaryCopyEncoder(copyTypes(spec));
      const chunks = [copyHeader()];
      for (const r of batch(b)) {
        const m = mapping.map(r, now);
        if (m.ok) enc.encodeRow(m.row);
        if (enc.length >= 1 << 20) chunks.push(enc.take());
      }
      chunks.push(enc.take(), copyTrailer());
      encoded.push(chunks);
    }
    const sql = copySql(rawPlan, spec);

    const ours = async (b: number) => {
      await loadBatch(pool, plan, { collection: 'vdb_entities', batchIndex: b, records: batch(b) });
    };
    const raw = async (b: number) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await pipeline(Readable.from(encoded[b]!), client.query(copyFrom(sql)));
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    };

    const segSize = Math.max(parallel, Math.ceil(batchCount / segments));
    const segs: number[][] = [];
    for (let s = 0; s * segSize < batchCount; s++)
      segs.push(Array.from({ length: Math.min(segSize, batchCount - s * segSize) }, (_, i) => s * segSize + i));
    const sides: Record<'ours' | 'raw', Side> = { ours: { ms: 0, cpuUs: 0 }, raw: { ms: 0, cpuUs: 0 } };
    const segRatios: number[] = [];
    for (const [s, seg] of segs.entries()) {
      const order: ('ours' | 'raw')[] = s % 2 === 0 ? ['ours', 'raw'] : ['raw', 'ours'];
      const t: Partial<Record<'ours' | 'raw', number>> = {};
      for (const side of order) {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await runPool(seg, parallel, side === 'ours' ? ours : raw);
        t[side] = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        sides[side].ms += t[side];
        sides[side].cpuUs += cpu.user + cpu.system;
      }
      segRatios.push(t.raw! / t.ours!);
    }
    encoded.length = 0;

    const oursRate = rows / (sides.ours.ms / 1000);
    const rawRate = rows / (sides.raw.ms / 1000);
    process.stdout.write(
      `batch ${batchSize} rows, ${parallel} in flight, ${segs.length} segments per side (ABBA order)\n`,
    );
    process.stdout.write(
      `  loader    ${fmt(oursRate).padStart(7)} rows/s  (${(sides.ours.ms / 1000).toFixed(1)} s; client CPU ${(sides.ours.cpuUs / rows).toFixed(1)} µs/row)  loadBatch: map + encode + COPY + marker, 1 tx per batch\n`,
    );
    process.stdout.write(
      `  raw COPY  ${fmt(rawRate).padStart(7)} rows/s  (${(sides.raw.ms / 1000).toFixed(1)} s; client CPU ${(sides.raw.cpuUs / rows).toFixed(1)} µs/row)  BEGIN + COPY of the pre-encoded bytes + COMMIT\n`,
    );
    process.stdout.write(
      `  ratio     ${(oursRate / rawRate).toFixed(3)}  (median of segment pairs ${median(segRatios).toFixed(3)}; goal ≥ 0.9)\n`,
    );
    return plan;
  } finally {
    if (!keep) await cleanupStaging(pool, plan, { dropPreviousGeneration: true }).catch(() => undefined);
    await cleanupStaging(pool, rawPlan, { dropPreviousGeneration: true }).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 100_000);
  const dim = Number(process.env.BENCH_DIM ?? 1536);
  const batchSizes = (process.env.BENCH_BATCH ?? '1000').split(',').map(Number);
  const parallel = Number(process.env.BENCH_PARALLEL ?? 2);
  const segments = Number(process.env.BENCH_SEGMENTS ?? 20);
  const withIndex = process.env.BENCH_INDEX !== '0';
  const pool = new pg.Pool({ connectionString: servicesDatabaseUrl(), max: parallel });
  const stamp = Date.now().toString(36);
  let indexPlan: TargetPlan | undefined;
  try {
    process.stdout.write(`generating ${rows} records × ${dim} dims …\n`);
    const records = makeRecords(rows, dim);
    for (const [i, batchSize] of batchSizes.entries()) {
      const plan = await benchOne(pool, records, dim, batchSize, parallel, segments, stamp, withIndex && i === 0);
      if (withIndex && i === 0) indexPlan = plan;
    }
    if (indexPlan) {
      const reports = await buildIndexes(pool, indexPlan);
      const hnsw = reports.find((r) => r.table === 'lightrag_vdb_entity_staging' && r.index.endsWith('_cosine'));
      process.stdout.write(
        `index build ${hnsw ? `${(hnsw.ms / 1000).toFixed(1)} s (${hnsw.index}, HNSW m=16 ef_construction=64, maintenance_work_mem=${indexPlan.options.maintenanceWorkMem})` : 'no vector index'}\n`,
      );
      process.stdout.write(
        `other keys  ${(reports.filter((r) => r !== hnsw).reduce((s, r) => s + r.ms, 0) / 1000).toFixed(1)} s\n`,
      );
    }
  } finally {
    if (indexPlan) await cleanupStaging(pool, indexPlan, { dropPreviousGeneration: true }).catch(() => undefined);
    await pool.end();
  }
}

main().catch((error) => {
  process.stderr.write(`bench:load failed: ${(error as Error).message}\n`);
  process.exit(1);
});
