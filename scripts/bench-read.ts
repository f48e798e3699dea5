/**
 * npm run bench:read [-- --dir DIR] [--size-mb 1100] [--dim 1536] [--batch-size 1000] [--keep]
 *
 * Generates a LightRAG store of at least --size-mb (into a temp folder, deleted afterwards unless
 * --keep), or uses --dir, then measures: planning throughput (MB/s over all files), batch-read
 * throughput (records/s and MB/s), the time of the first vs the last batch of the largest vector
 * file, and peak RSS. Goals: planning ≥ 150 MB/s, last batch no slower than the first, RSS ≤ 200 MB.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { discover, planWorkspace, readBatch, type CollectionPlan } from '../core/source';

const program = new Command('bench-read')
  .option('--dir <dir>', 'an existing LightRAG working directory (default: generate one)')
  .option('--size-mb <mb>', 'size of the generated store in MB', (v) => Number(v), 1100)
  .option('--dim <d>', 'embedding dimension of the generated store', (v) => Number(v), 1536)
  .option('--batch-size <n>', 'records per batch', (v) => Number(v), 1000)
  .option('--keep', 'keep the generated store');
program.parse();
const o = program.opts<{ dir?: string; sizeMb: number; dim: number; batchSize: number; keep?: boolean }>();

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;

async function timeBatch(plan: CollectionPlan, k: number): Promise<{ ms: number; records: number; bytes: number }> {
  const t = process.hrtime.bigint();
  const recs = await readBatch(plan, k);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const b = plan.batches[k]!;
  let bytes = b.endOffset - b.startOffset;
  if (plan.kind === 'vdb' && plan.vectorSource === 'matrix') bytes += Math.ceil((b.recordCount * plan.dim * 4) / 3) * 4;
  return { ms, records: recs.length, bytes };
}

async function main(): Promise<void> {
  let dir = o.dir;
  let generated: string | undefined;
  if (!dir) {
    generated = mkdtempSync(path.join(tmpdir(), 'hybridrag-bench-'));
    dir = generated;
    // newest era: ≈ 19 KB + 11 bytes per dimension of files per chunk record (generate.ts)
    const perRecord = 19_000 + 11 * o.dim;
    const records = Math.ceil((o.sizeMb * 1e6) / perRecord);
    const t = Date.now();
    // generate in a child process so that its memory does not count in this process's peak RSS
    execFileSync(
      process.execPath,
      [
        path.join(__dirname, 'gen.js'),
        '--out',
        dir,
        '--records',
        String(records),
        '--dim',
        String(o.dim),
        '--era',
        'newest',
      ],
      { stdio: 'ignore' },
    );
    console.log(`generated ${records} chunks (D=${o.dim}) in ${((Date.now() - t) / 1000).toFixed(1)} s at ${dir}`);
  }
  try {
    const { workspaces } = await discover(dir);
    const ws = workspaces[0]!;
    console.log(
      `store: ${dir} — ${mb(ws.totalBytes)} MB in ${ws.present.length - (ws.present.some((p) => p.collection === 'graph_edges') ? 1 : 0)} files`,
    );

    const t0 = process.hrtime.bigint();
    const plans = await planWorkspace(ws, { batchSize: o.batchSize });
    const planS = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(
      `planning:   ${mb(ws.totalBytes)} MB in ${planS.toFixed(2)} s = ${(ws.totalBytes / 1e6 / planS).toFixed(0)} MB/s (plan JSON ${(JSON.stringify(plans).length / 1024).toFixed(0)} KiB)`,
    );

    let records = 0;
    let bytes = 0;
    const t1 = process.hrtime.bigint();
    const largest = plans.filter((p) => p.kind === 'vdb').sort((a, b) => b.size - a.size)[0];
    let firstMs = 0;
    let lastMs = 0;
    for (const plan of plans) {
      for (let k = 0; k < plan.batches.length; k++) {
        const r = await timeBatch(plan, k);
        records += r.records;
        bytes += r.bytes;
        if (plan === largest && k === 0) firstMs = r.ms;
        if (plan === largest && k === plan.batches.length - 1) lastMs = r.ms;
      }
    }
    const readS = Number(process.hrtime.bigint() - t1) / 1e9;
    console.log(
      `batch read: ${records} records, ${mb(bytes)} MB in ${readS.toFixed(2)} s = ${(records / readS).toFixed(0)} records/s, ${(bytes / 1e6 / readS).toFixed(0)} MB/s`,
    );
    if (largest) {
      // re-time first and last batch a few times (cold first call includes JIT warm-up)
      // the very last batch is usually a short remainder: also time the last *full* batch
      const reps = 5;
      const last = largest.batches.length - 1;
      let lastFull = 0;
      largest.batches.forEach((b, k) => {
        if (b.recordCount === largest.batches[0]!.recordCount) lastFull = k;
      });
      let f = 0;
      let l = 0;
      let lf = 0;
      for (let i = 0; i < reps; i++) {
        f += (await timeBatch(largest, 0)).ms;
        l += (await timeBatch(largest, last)).ms;
        lf += (await timeBatch(largest, lastFull)).ms;
      }
      const per = (ms: number, k: number): string =>
        `${((ms / largest.batches[k]!.recordCount) * 1000).toFixed(0)} µs/record`;
      console.log(
        `${largest.collection} (${mb(largest.size)} MB, ${largest.batches.length} batches of ≤ ${largest.batches[0]!.recordCount} records): during the run first batch ${firstMs.toFixed(1)} ms, last ${lastMs.toFixed(1)} ms`,
      );
      console.log(
        `  mean of ${reps} repeats: first batch ${(f / reps).toFixed(1)} ms (${per(f / reps, 0)}), last full batch #${lastFull} ${(lf / reps).toFixed(1)} ms (${per(lf / reps, lastFull)}), last batch #${last} ${(l / reps).toFixed(1)} ms (${per(l / reps, last)})`,
      );
    }
    console.log(`peak RSS:   ${peakRssMb().toFixed(0)} MB`);
  } finally {
    if (generated && !o.keep) rmSync(generated, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
