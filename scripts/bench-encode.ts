/**
 * npm run bench:encode -- --dir DIR [--dim 1536] [--repeat 3] [--only collection,collection]
 *
 * The worker's CPU per staged row without PostgreSQL: every batch of a store is read as the load
 * activity reads it (`openBatch`), admitted (mapped, fitted) and encoded into COPY BINARY bytes
 * that are then dropped. Prints, per collection and in total, rows, CPU µs per row (all threads of
 * this process: main thread and V8's GC helpers) and wall time. What the full bench's
 * "worker CPU per row" adds on top is the socket writes to PostgreSQL and Temporal's share.
 * Run it under `--cpu-prof` to see where the time goes.
 */
import { Command } from 'commander';
import { admitRecord } from '../core/postgres/admit';
import { BinaryCopyEncoder, copyTypes, mappingFor, planTarget, tableSpec, type AnyRecord } from '../core/postgres';
import { discover, openBatch, planCollection, type CollectionPlan } from '../core/source';

const program = new Command('bench-encode')
  .requiredOption('--dir <dir>', 'a LightRAG working directory (npm run gen makes one)')
  .option('--dim <d>', 'embedding dimension', (v) => Number(v), 1536)
  .option('--repeat <n>', 'passes over the store (the first warms the page cache and the JIT)', (v) => Number(v), 3)
  .option('--only <collections>', 'comma-separated collections (default: all)')
  .option('--json', 'print the last pass as JSON');
program.parse();
const o = program.opts<{ dir: string; dim: number; repeat: number; only?: string; json?: boolean }>();

interface Row {
  collection: string;
  rows: number;
  cpuUs: number;
  wallMs: number;
  bytes: number;
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function encodeCollection(plan: CollectionPlan, dimension: number): Promise<Row> {
  const target = planTarget({ migrationId: 'bench-encode', workspace: 'bench', dimension });
  const mapping = mappingFor(target, plan.collection);
  const spec = tableSpec(target, mapping.table);
  const buffer = Buffer.allocUnsafeSlow(1 << 21);
  const encoder = new BinaryCopyEncoder(copyTypes(spec), buffer);
  const now = Date.now();
  let rows = 0;
  let bytes = 0;
  const cpu0 = cpuNow();
  const t0 = performance.now();
  for (let k = 0; k < plan.batches.length; k++) {
    const batch = await openBatch(plan, k, { utf8Fields: mapping.utf8Fields ?? [] });
    const seen = new Set<string>();
    for await (const record of batch.records as AsyncIterable<AnyRecord> | Iterable<AnyRecord>) {
      const admitted = admitRecord(mapping, spec.copyColumns, record, now, seen, encoder);
      if (admitted.ok) rows++;
      if (encoder.length >= 1 << 20) bytes += encoder.take(buffer).length;
    }
    bytes += encoder.take(buffer).length;
  }
  return { collection: plan.collection, rows, cpuUs: cpuNow() - cpu0, wallMs: performance.now() - t0, bytes };
}

async function main(): Promise<void> {
  const { workspaces } = await discover(o.dir);
  const only = o.only?.split(',');
  const plans: CollectionPlan[] = [];
  for (const p of workspaces[0]!.present)
    if (!only || only.includes(p.collection)) plans.push(await planCollection(p.file, p.collection));
  if (!o.json) console.log(`planned ${plans.length} collections`);
  let last: Row[] = [];
  for (let pass = 1; pass <= o.repeat; pass++) {
    last = [];
    for (const plan of plans) last.push(await encodeCollection(plan, o.dim));
    const rows = last.reduce((s, r) => s + r.rows, 0);
    const cpu = last.reduce((s, r) => s + r.cpuUs, 0);
    const wall = last.reduce((s, r) => s + r.wallMs, 0);
    console.log(
      `pass ${pass}: ${rows} rows, worker CPU per row: ${(cpu / rows).toFixed(1)} µs, wall ${(wall / 1000).toFixed(1)} s`,
    );
  }
  if (o.json) console.log(JSON.stringify(last, null, 2));
  else
    for (const r of last)
      console.log(
        `  ${r.collection.padEnd(20)} ${String(r.rows).padStart(8)} rows  ${(r.cpuUs / Math.max(1, r.rows)).toFixed(1).padStart(7)} µs/row  ${(r.bytes / 1e6).toFixed(0).padStart(6)} MB encoded`,
      );
}

void main();
