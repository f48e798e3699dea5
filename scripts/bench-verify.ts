/**
 * npm run bench:verify — staging time vs verification time for one store (goal: verify ≤ 25 %).
 *   BENCH_ROWS (chunks, default 100000), BENCH_DIM (default 1536), BENCH_BATCH (records per batch, 1000),
 *   BENCH_CHUNK_CHARS (text per chunk, default 1000), BENCH_FILES (generated files, default vdb_chunks.json),
 *   BENCH_STORE (use this LightRAG folder instead of generating one), BENCH_LAYOUT (lightrag | hybridrag),
 *   DATABASE_URL (default: the local services' one from scripts/services.sh env).
 * Staging = prepareStaging + read every batch + loadBatch + finishStaging (no index build).
 * Works in its own staging schema and drops it (and the generated store) at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { readBatch } from '../core/source';
import { planCollections } from '../core/migration/planning';
import { generateStore } from '../core/source/generate';
import { cleanupStaging, finishStaging, loadBatch, planTarget, prepareStaging } from '../core/postgres';
import type { AnyRecord } from '../core/postgres/layouts/types';
import { summarizeReport, verifyStaging } from '../core/verify';
import { servicesDatabaseUrl } from './servicesDatabaseUrl';

async function main(): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 100_000);
  const dim = Number(process.env.BENCH_DIM ?? 1536);
  const batchSize = Number(process.env.BENCH_BATCH ?? 1000);
  const layout = process.env.BENCH_LAYOUT === 'hybridrag' ? 'hybridrag' : 'lightrag';
  let store = process.env.BENCH_STORE;
  let generated: string | undefined;
  if (!store) {
    generated = store = mkdtempSync(path.join(os.tmpdir(), 'bench-verify-'));
    process.stdout.write(`generating ${rows} records × ${dim} dims in ${store} …\n`);
    generateStore({
      out: store,
      records: rows,
      dim,
      era: 'newest',
      chunkChars: Number(process.env.BENCH_CHUNK_CHARS ?? 1000),
      only: (process.env.BENCH_FILES ?? 'vdb_chunks.json').split(','),
    });
  }
  const pool = new pg.Pool({ connectionString: servicesDatabaseUrl(), max: 2 });
  const planned = await planCollections(store, { batchSize });
  const plan = planTarget({
    migrationId: `bench-verify-${Date.now().toString(36)}`,
    workspace: 'bench',
    dimension: planned.dimension,
    layout,
  });
  try {
    const records = planned.collections.reduce((n, c) => n + c.plan.recordCount, 0);
    let t0 = performance.now();
    await prepareStaging(pool, plan);
    for (const { collection, plan: cp } of planned.collections) {
      for (let k = 0; k < cp.batches.length; k++)
        await loadBatch(pool, plan, { collection, batchIndex: k, records: (await readBatch(cp, k)) as AnyRecord[] });
    }
    await finishStaging(pool, plan);
    const stageMs = performance.now() - t0;
    t0 = performance.now();
    const phases = new Map<string, number>();
    let last = { key: '', at: t0 };
    const report = await verifyStaging(pool, plan, planned.collections, {
      onProgress: (p) => {
        const key = `${p.collection} ${p.phase}`;
        if (key === last.key) return;
        const now = performance.now();
        if (last.key) phases.set(last.key, (phases.get(last.key) ?? 0) + now - last.at);
        last = { key, at: now };
      },
    });
    const verifyMs = performance.now() - t0;
    phases.set(last.key, (phases.get(last.key) ?? 0) + performance.now() - last.at);
    for (const [k, ms] of phases) process.stdout.write(`  ${k.padEnd(40)} ${(ms / 1000).toFixed(2)} s\n`);
    for (const line of summarizeReport(report)) process.stdout.write(`${line}\n`);
    process.stdout.write(
      `records     ${records} (dimension ${planned.dimension}, layout ${layout}, batch ${batchSize})\n`,
    );
    process.stdout.write(`staging     ${(stageMs / 1000).toFixed(1)} s  (read + map + COPY + finish)\n`);
    process.stdout.write(`verify      ${(verifyMs / 1000).toFixed(1)} s  (${report.passed ? 'passed' : 'FAILED'})\n`);
    process.stdout.write(`ratio       ${(verifyMs / stageMs).toFixed(3)}  (goal ≤ 0.25)\n`);
  } finally {
    await cleanupStaging(pool, plan, { dropPreviousGeneration: true }).catch(() => undefined);
    await pool.end();
    if (generated) rmSync(generated, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench:verify failed: ${(error as Error).message}\n`);
  process.exit(1);
});
