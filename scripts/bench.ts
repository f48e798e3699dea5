/**
 * npm run bench [-- --sizes 100k,300k] [--dim 1536] [--chunk-chars 4000] [--batch-size 1000]
 *               [--parallelism 2] [--slots N] [--skip-index] [--index-up-to SIZE] [--keep] [--json FILE]
 *               [--insert-sample 300] [--no-raw] [--no-insert] [--direct-above SIZE]
 *               [--worker-node-args "--cpu-prof --cpu-prof-dir=DIR"]
 *
 * End-to-end benchmark of the staged migration on one PostgreSQL, per store size:
 *  1. generates (or with --keep reuses) a LightRAG store of N chunks (N/2 entities, N/2 relations,
 *     all KV files and the GraphML graph; core/source/generate.ts) under .bench/stores/ (git-ignored);
 *  2. runs `node dist/client/cli.js backend migrate --path STORE --staged -y --worker external` against
 *     a fresh database `hybridrag_bench` on the same server, with `node dist/workers/main.js` as a
 *     separate process; both peak RSS values are VmHWM from /proc/<pid>/status (polled every 200 ms;
 *     VmHWM is the kernel's high-water mark, so polling cannot miss a peak);
 *     phase times come from the workflow histories (activity scheduled → completed, child workflows
 *     started → completed: the server's own timestamps);
 *     --skip-index terminates the workflow as soon as it reaches the index build (staging scaling only,
 *     its index build in PostgreSQL is stopped before the next measurement);
 *     CPU time of every process (worker, CLI, PostgreSQL, Temporal server, other) is sampled from
 *     /proc once a second and summed over the staging window (scripts/cpuSampler.ts);
 *  3. raw limit: the same rows (read, mapped and binary-encoded beforehand, not timed) sent with
 *     BEGIN; COPY … FROM STDIN (FORMAT binary); COMMIT per batch, same batch size, as many batches in
 *     flight as the worker runs at once, into the same kind of staging tables (scripts/bench-load.ts);
 *  4. baseline: one INSERT statement per row (values as text, as the original Python tool sends
 *     them; a commit per batch), on one connection, for a sample of rows of every collection,
 *     extrapolated per collection to all rows (say so when reporting).
 * Prints a Markdown table and the cost per row / memory per size, and the goals.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { CpuSampler, type Component } from './cpuSampler';
import { runPool } from './runPool';
import { DEFAULT_COLLECTION_PARALLELISM } from '../core/config';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { planCollections } from '../core/migration/planning';
import { readBatch, type CollectionName } from '../core/source';
import { generateStore } from '../core/source/generate';
import {
  BinaryCopyEncoder,
  buildIndexes,
  cleanupStaging,
  copyHeader,
  copySql,
  copyTrailer,
  copyTypes,
  planTarget,
  prepareStaging,
  stagingTable,
  tableSpec,
  type TargetPlan,
} from '../core/postgres';
import type { AnyRecord, TableSpec } from '../core/postgres/layouts/types';

const ROOT = [path.resolve(__dirname, '../..'), path.resolve(__dirname, '..')].find((d) =>
  existsSync(path.join(d, 'scripts/services.sh')),
)!;
const DIST = path.join(ROOT, 'dist');
const BENCH_DB = 'hybridrag_bench';
/** collections loaded at once by the migration workflow (client/commands/migrate.ts) */
const COLLECTION_PARALLELISM = DEFAULT_COLLECTION_PARALLELISM;

const parseSize = (s: string): number => {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`bad size ${s} (use e.g. 100k, 1m, 5000)`);
  return Math.round(Number(m[1]) * (m[2]!.toLowerCase() === 'k' ? 1e3 : m[2]!.toLowerCase() === 'm' ? 1e6 : 1));
};

const program = new Command('bench')
  .option('--sizes <list>', 'store sizes in chunks (entities and relations: half as many each)', '100k')
  .option('--dim <d>', 'embedding dimension', (v) => Number(v), 1536)
  .option('--chunk-chars <n>', 'characters of text per chunk', (v) => Number(v), 4000)
  .option('--batch-size <n>', 'records per batch (--batch-size of the CLI)', (v) => Number(v), 1000)
  .option('--parallelism <n>', 'batches in flight per collection (--parallelism of the CLI)', (v) => Number(v), 2)
  .option('--slots <n>', 'worker activity slots (HYBRIDRAG_ACTIVITY_SLOTS; default: the worker default)', (v) =>
    Number(v),
  )
  .option('--skip-index', 'stop each migration when it reaches the index build (staging scaling only)')
  .option(
    '--index-up-to <size>',
    'build indexes (and verify, promote) only for sizes up to this one; larger sizes as with --skip-index',
    (v) => parseSize(v),
  )
  .option('--keep', 'keep generated stores in .bench/stores and reuse them')
  .option('--json <file>', 'write the results as JSON')
  .option('--insert-sample <n>', 'rows per collection for the one-INSERT-per-row baseline', (v) => Number(v), 300)
  .option('--no-raw', 'skip the raw COPY measurement')
  .option('--no-insert', 'skip the INSERT-per-row baseline')
  .option(
    '--direct-above <size>',
    'direct migrations (no backup) for sizes above this one: stores too large to back up on this disk',
    (v) => parseSize(v),
  )
  .option(
    '--worker-node-args <args>',
    'extra node arguments for the worker process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"',
    '',
  )
  .option(
    '--baseline-dist <dir>',
    "A/B: another build's dist/ (e.g. main's) migrates the same store right before this build, and both are divided by the same floor",
  );
program.parse();
const o = program.opts<{
  baselineDist?: string;
  sizes: string;
  dim: number;
  chunkChars: number;
  batchSize: number;
  parallelism: number;
  slots?: number;
  skipIndex?: boolean;
  indexUpTo?: number;
  keep?: boolean;
  json?: string;
  insertSample: number;
  raw: boolean;
  insert: boolean;
  workerNodeArgs: string;
  directAbove?: number;
}>();

const log = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

function databaseUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const env = execFileSync('bash', [path.join(ROOT, 'scripts/services.sh'), 'env'], { cwd: ROOT, encoding: 'utf8' });
  const line = env.split('\n').find((l) => l.startsWith('DATABASE_URL='));
  if (!line) throw new Error('No DATABASE_URL: run npm run services -- up, or set DATABASE_URL.');
  return line.slice('DATABASE_URL='.length);
}
const withDb = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

// ---------------------------------------------------------------- processes and their memory

interface Watched {
  child: ChildProcess;
  peakKb: number;
  stdout: string;
  stderr: string;
  exit: Promise<number>;
  stopPolling(): void;
}

function vmHwmKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function watch(args: string[], env: NodeJS.ProcessEnv, onLine?: (line: string) => void): Watched {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Watched = {
    child,
    peakKb: 0,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)))),
    stopPolling: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    if (child.pid) w.peakKb = Math.max(w.peakKb, vmHwmKb(child.pid));
  }, 200);
  child.stdout.on('data', (d: Buffer) => {
    w.stdout += d.toString();
    if (onLine) for (const l of d.toString().split('\n')) if (l.trim()) onLine(l);
  });
  child.stderr.on('data', (d: Buffer) => (w.stderr += d.toString()));
  void w.exit.then(() => clearInterval(timer));
  return w;
}

// ---------------------------------------------------------------- stores

function ensureStore(n: number): string {
  const dir = path.join(ROOT, '.bench', 'stores', `n${n}-d${o.dim}-c${o.chunkChars}`);
  const marker = path.join(dir, '.bench-store.json');
  if (o.keep && existsSync(marker)) {
    log(`reusing store ${dir}`);
  } else {
    rmSync(dir, { recursive: true, force: true });
    log(`generating store of ${n} chunks × ${o.dim} dims in ${dir} …`);
    const t0 = Date.now();
    const files = generateStore({ out: dir, records: n, dim: o.dim, era: 'newest', chunkChars: o.chunkChars });
    writeFileSync(marker, JSON.stringify({ records: n, dim: o.dim, chunkChars: o.chunkChars, files }));
    log(
      `  ${(files.reduce((s, f) => s + f.size, 0) / 1e9).toFixed(2)} GB in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
  // leftovers of an earlier run (the next run would resume it)
  for (const f of ['.migration_state.json', '.backups', '.migration_reports', '.migration_plans'])
    rmSync(path.join(dir, f), { recursive: true, force: true });
  return dir;
}

async function recreateDatabase(adminUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${BENCH_DB}`);
  } finally {
    await c.end();
  }
}
async function terminateBackends(adminUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [BENCH_DB],
    );
    for (let i = 0; i < 100; i++) {
      const { rows } = await c.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [BENCH_DB],
      );
      if (rows[0]!.n === '0') break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await c.end();
  }
}
async function dropDatabase(adminUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`).finally(() => c.end());
}

// ---------------------------------------------------------------- workflow histories

interface Ev {
  eventId: number;
  eventType: string;
  time: number;
  attrs: Record<string, any>;
}
const tsMs = (t: any): number => Number(t?.seconds?.toString?.() ?? t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
function events(history: any): Ev[] {
  return (history.events ?? []).map((e: any) => {
    const key = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k]);
    return {
      eventId: Number(e.eventId?.toString?.() ?? e.eventId),
      eventType: key ? key.replace(/EventAttributes$/, '') : String(e.eventType),
      time: tsMs(e.eventTime),
      attrs: key ? e[key] : {},
    };
  });
}
interface Act {
  name: string;
  scheduled: number;
  started?: number;
  completed?: number;
}
function activities(evs: Ev[]): Act[] {
  const byId = new Map<number, Act>();
  for (const e of evs) {
    if (e.eventType === 'activityTaskScheduled')
      byId.set(e.eventId, { name: e.attrs.activityType?.name, scheduled: e.time });
    const sid = Number(e.attrs.scheduledEventId?.toString?.() ?? e.attrs.scheduledEventId);
    if (e.eventType === 'activityTaskStarted') byId.get(sid)!.started = e.time;
    if (e.eventType === 'activityTaskCompleted') byId.get(sid)!.completed = e.time;
  }
  return [...byId.values()];
}

async function childRuns(client: Client, workflowId: string, firstRunId: string): Promise<Ev[][]> {
  const runs: Ev[][] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const evs = events(await client.workflow.getHandle(workflowId, runId).fetchHistory());
    runs.push(evs);
    const can = evs.find((e) => e.eventType === 'workflowExecutionContinuedAsNew');
    runId = can?.attrs.newExecutionRunId;
  }
  return runs;
}

interface Phases {
  backup?: number;
  plan?: number;
  staging: number;
  finish?: number;
  indexes?: number;
  verify?: number;
  promote?: number;
  total: number;
  rows: number;
  /** load activities (each loads a range of consecutive batches) */
  loadActivities: number;
  batchMedianMs: number;
  /** each long activity's window (scheduled → completed), server clock (ms since the epoch) */
  windows: Record<string, { from: number; to: number }>;
  /** staging window, server clock (ms since the epoch) */
  stagingFrom: number;
  stagingTo: number;
  /** share of the worker's slot time in the load window not spent inside a loadBatchRange activity */
  slotIdle: number;
  scheduleToStartMedianMs: number;
}

async function phasesOf(client: Client, workflowId: string, runId: string, slots: number): Promise<Phases> {
  const evs = events(await client.workflow.getHandle(workflowId, runId).fetchHistory());
  const acts = activities(evs);
  const span = (name: string) => {
    const a = acts.find((x) => x.name === name);
    return a?.completed ? (a.completed - a.scheduled) / 1000 : undefined;
  };
  const prepare = acts.find((a) => a.name === 'prepareTarget')!;
  const childStarts = evs.filter((e) => e.eventType === 'childWorkflowExecutionStarted');
  const childDone = evs.filter((e) => e.eventType === 'childWorkflowExecutionCompleted');
  const stagingEnd = Math.max(...childDone.map((e) => e.time));
  // every loadBatchRange of every child run
  const loads: Act[] = [];
  for (const s of childStarts) {
    for (const run of await childRuns(client, s.attrs.workflowExecution.workflowId, s.attrs.workflowExecution.runId))
      loads.push(...activities(run).filter((a) => a.name === 'loadBatchRange' && a.completed));
  }
  const durations = loads.map((a) => a.completed! - a.started!).sort((x, y) => x - y);
  const s2s = loads.map((a) => a.started! - a.scheduled).sort((x, y) => x - y);
  const loadStart = Math.min(...loads.map((a) => a.scheduled));
  const loadEnd = Math.max(...loads.map((a) => a.completed!));
  const busy = durations.reduce((s, d) => s + d, 0);
  const concurrency = Math.min(slots, o.parallelism * COLLECTION_PARALLELISM);
  const start = evs[0]!.time;
  const end = evs[evs.length - 1]!.time;
  const windows: Phases['windows'] = {};
  for (const name of ['backupDatabase', 'planSource', 'finishStaging', 'buildIndexes', 'verifyStaging', 'promote']) {
    const a = acts.find((x) => x.name === name);
    if (a?.completed) windows[name] = { from: a.scheduled, to: a.completed };
  }
  return {
    windows,
    backup: span('backupDatabase'),
    plan: span('planSource'),
    staging: (stagingEnd - prepare.scheduled) / 1000,
    finish: span('finishStaging'),
    indexes: span('buildIndexes'),
    verify: span('verifyStaging'),
    promote: span('promote'),
    total: (end - start) / 1000,
    rows: 0,
    loadActivities: loads.length,
    stagingFrom: prepare.scheduled,
    stagingTo: stagingEnd,
    batchMedianMs: durations[Math.floor(durations.length / 2)] ?? 0,
    slotIdle: 1 - busy / (concurrency * (loadEnd - loadStart)),
    scheduleToStartMedianMs: s2s[Math.floor(s2s.length / 2)] ?? 0,
  };
}

// ---------------------------------------------------------------- raw COPY and INSERT baseline

interface SourceBatches {
  collection: CollectionName;
  batches: number;
  records: number;
  read(k: number): Promise<AnyRecord[]>;
}
async function sourceBatches(store: string): Promise<{ dimension: number; collections: SourceBatches[] }> {
  const planned = await planCollections(store, { batchSize: o.batchSize });
  return {
    dimension: planned.dimension,
    collections: planned.collections.map(({ collection, plan }) => ({
      collection,
      batches: plan.batches.length,
      records: plan.recordCount,
      read: async (k: number) => await readBatch(plan, k),
    })),
  };
}

/** Raw binary COPY of every collection's rows, pre-encoded in segments of batches (only the COPY is timed). */
async function rawCopy(
  pool: pg.Pool,
  plan: TargetPlan,
  src: SourceBatches[],
  parallel: number,
): Promise<{ seconds: number; rows: number }> {
  let ms = 0;
  let rows = 0;
  const now = Date.now();
  const SEGMENT = 40;
  for (const c of src) {
    const mapping = plan.layout.collections[c.collection];
    if (!mapping) continue;
    const spec = tableSpec(plan, mapping.table);
    const sql = copySql(plan, spec);
    for (let s = 0; s < c.batches; s += SEGMENT) {
      const encoded: Buffer[][] = [];
      for (let k = s; k < Math.min(c.batches, s + SEGMENT); k++) {
        const enc = new BinaryCopyEncoder(copyTypes(spec));
        const chunks = [copyHeader()];
        for (const r of await c.read(k)) {
          const m = mapping.map(r, now);
          if (!m.ok) continue;
          try {
            enc.encodeRow(m.row);
          } catch {
            continue;
          }
          if (enc.length >= 1 << 20) chunks.push(enc.take());
        }
        rows += enc.rows;
        chunks.push(enc.take(), copyTrailer());
        encoded.push(chunks);
      }
      const t0 = performance.now();
      await runPool(encoded, parallel, async (chunks) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await pipeline(Readable.from(chunks), client.query(copyFrom(sql)));
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      });
      ms += performance.now() - t0;
    }
  }
  return { seconds: ms / 1000, rows };
}

function textValue(type: string | undefined, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'vector':
      return `[${Array.from(v as Float32Array).join(', ')}]`; // str(list) as Python sends it
    case 'jsonb':
      return JSON.stringify(v);
    case 'timestamp':
    case 'timestamptz':
      return (v instanceof Date ? v : new Date(v as number)).toISOString();
    case 'int8':
      return String(v);
    default:
      return v;
  }
}

/** One INSERT statement per row on one connection, commit per batch; a sample per collection, extrapolated. */
async function insertBaseline(
  pool: pg.Pool,
  plan: TargetPlan,
  src: SourceBatches[],
): Promise<{ seconds: number; sampled: number; rows: number; perCollection: Record<string, number> }> {
  const client = await pool.connect();
  const now = Date.now();
  let seconds = 0;
  let sampled = 0;
  let rows = 0;
  const perCollection: Record<string, number> = {};
  try {
    for (const c of src) {
      const mapping = plan.layout.collections[c.collection];
      if (!mapping) continue;
      const spec: TableSpec = tableSpec(plan, mapping.table);
      const types = copyTypes(spec);
      const sql = `INSERT INTO ${stagingTable(plan, spec.name)} (${spec.copyColumns.map((n) => `"${n}"`).join(', ')}) VALUES (${spec.copyColumns.map((_, i) => `$${i + 1}`).join(', ')})`;
      // rows from batches spread over the file: first, middle, last
      const picks = [...new Set([0, Math.floor(c.batches / 2), c.batches - 1])];
      const sample: unknown[][] = [];
      for (const k of picks) {
        const recs = await c.read(k);
        for (const r of recs.slice(0, Math.ceil(o.insertSample / picks.length))) {
          const m = mapping.map(r, now);
          if (m.ok) sample.push(m.row.map((v, i) => textValue(types[i], v)));
        }
      }
      const t0 = performance.now();
      await client.query('BEGIN');
      for (const row of sample) await client.query(sql, row);
      await client.query('COMMIT');
      const s = (performance.now() - t0) / 1000;
      const perRow = s / sample.length;
      perCollection[c.collection] = 1 / perRow;
      seconds += perRow * c.records;
      sampled += sample.length;
      rows += c.records;
    }
  } finally {
    client.release();
  }
  return { seconds, sampled, rows, perCollection };
}

// ---------------------------------------------------------------- one size

interface SizeResult {
  /** which build migrated: 'this' (the bench's own dist/) or 'baseline' (--baseline-dist) */
  build: string;
  size: number;
  /** vector records (chunks, entities, relations) */
  vectors: number;
  rows: number;
  storeGB: number;
  phases: Phases;
  cliSeconds: number;
  outcome: string;
  workerPeakMB: number;
  cliPeakMB: number;
  stagingRowsPerSecond: number;
  /** CPU seconds per component during staging */
  stagingCpu: Record<Component, number>;
  /** CPU seconds per component during each long activity (backupDatabase, buildIndexes, verifyStaging, …) */
  phaseCpu: Record<string, Record<Component, number>>;
  raw?: { seconds: number; rows: number; rowsPerSecond: number; indexSeconds?: number };
  /**
   * The headline: the whole staged migration over PostgreSQL's own floor for the same rows: the raw
   * binary COPY measured here + the same index builds (buildIndexes: keys, indexes, HNSW, ANALYZE)
   * run on the raw-copied tables right after it, alone on the machine (not the migration's own index
   * phase, which may overlap other work). Absent without --raw or an index build.
   */
  floorRatio?: number;
  /** worker CPU (user + system) per row during staging, from /proc */
  workerCpuPerRowUs: number;
  insert?: { seconds: number; sampled: number; rowsPerSecond: number; perCollection: Record<string, number> };
}

interface Build {
  label: string;
  dist: string;
}

/** Every build measured on one store (the baseline first), then one floor for all of them. */
async function benchSize(n: number, adminUrl: string, temporal: Client, slots: number): Promise<SizeResult[]> {
  const store = ensureStore(n);
  const builds: Build[] = [
    ...(o.baselineDist ? [{ label: 'baseline', dist: path.resolve(o.baselineDist) }] : []),
    { label: 'this', dist: DIST },
  ];
  const results: SizeResult[] = [];
  let terminated = false;
  for (const build of builds) {
    if (builds.length > 1) log(`  --- build ${build.label} (${build.dist}) ---`);
    const run = await migrate(n, store, build, adminUrl, temporal, slots);
    results.push(run.result);
    terminated = run.terminated;
    cleanStore(store);
  }
  await measureFloor(n, store, results, terminated, adminUrl, slots);
  if (!o.keep) rmSync(store, { recursive: true, force: true });
  return results;
}

function cleanStore(store: string): void {
  for (const f of ['.backups', '.migration_reports', '.migration_plans', '.migration_state.json'])
    rmSync(path.join(store, f), { recursive: true, force: true });
}

async function migrate(
  n: number,
  store: string,
  build: Build,
  adminUrl: string,
  temporal: Client,
  slots: number,
): Promise<{ result: SizeResult; terminated: boolean }> {
  const DIST = build.dist;
  const skipIndex = o.skipIndex || (o.indexUpTo !== undefined && n > o.indexUpTo);
  const storeGB =
    JSON.parse(readFileSync(path.join(store, '.bench-store.json'), 'utf8')).files.reduce(
      (s: number, f: { size: number }) => s + f.size,
      0,
    ) / 1e9;
  await recreateDatabase(adminUrl);
  const url = withDb(adminUrl, BENCH_DB);
  const env = { ...process.env, DATABASE_URL: url, ...(o.slots ? { HYBRIDRAG_ACTIVITY_SLOTS: String(o.slots) } : {}) };

  // the worker, a separate process
  let ready!: () => void;
  const polling = new Promise<void>((r) => (ready = r));
  const cpu = new CpuSampler({}, BENCH_DB);
  cpu.start();
  const worker = watch(
    [...o.workerNodeArgs.split(/\s+/).filter(Boolean), path.join(DIST, 'workers/main.js')],
    env,
    (l) => l.includes('worker polling') && ready(),
  );
  await Promise.race([
    polling,
    worker.exit.then((c) => Promise.reject(new Error(`worker exited ${c}: ${worker.stderr}`))),
  ]);
  cpu.setPid('worker', worker.child.pid);
  log(`worker pid ${worker.child.pid} polling`);

  const { migrationWorkflowId } = require(path.join(DIST, 'client/job/ids.js')) as typeof import('../client/job/ids');
  const { parseConnectionString } = require(
    path.join(DIST, 'core/connection.js'),
  ) as typeof import('../core/connection');
  const workflowId = migrationWorkflowId(
    path.basename(store).toLowerCase(),
    parseConnectionString(url).target,
    'default',
  );

  const t0 = performance.now();
  const cli = watch(
    [
      path.join(DIST, 'client/cli.js'),
      'backend',
      'migrate',
      '--path',
      store,
      ...(o.directAbove !== undefined && n > o.directAbove ? [] : ['--staged']),
      '-y',
      '--worker',
      'external',
      '--no-pause-watcher',
      '--json',
      '--connection-string',
      url,
      '--batch-size',
      String(o.batchSize),
      '--parallelism',
      String(o.parallelism),
    ],
    env,
  );
  cpu.setPid('cli', cli.child.pid);
  let terminated = false;
  let lastStep = '';
  // the run this CLI started (an earlier, closed run of the same workflow id answers queries too)
  const startedAt = Date.now() - 1000;
  let runId: string | undefined;
  const poller = setInterval(() => {
    temporal.workflow
      .getHandle(workflowId)
      .describe()
      .then((d) => {
        if (d.startTime.getTime() < startedAt) return undefined;
        runId = d.runId;
        return temporal.workflow
          .getHandle(workflowId, runId)
          .query<{ step: string; rowsDone: number; rowsTotal: number }>('progress');
      })
      .then(async (p) => {
        if (!p) return;
        if (p.step !== lastStep)
          log(
            `  ${p.step} (${p.rowsDone}/${p.rowsTotal} rows; worker ${(vmHwmKb(worker.child.pid!) / 1024).toFixed(0)} MB peak)`,
          );
        lastStep = p.step;
        if (skipIndex && !terminated && /building indexes/.test(p.step)) {
          terminated = true;
          await temporal.workflow.getHandle(workflowId, runId).terminate('bench --skip-index: staging measured');
        }
      })
      .catch(() => undefined);
  }, 2000);
  const code = await cli.exit;
  clearInterval(poller);
  cpu.stop();
  const cliSeconds = (performance.now() - t0) / 1000;
  cli.peakKb = Math.max(cli.peakKb, 0);
  let outcome: string;
  try {
    const out = JSON.parse(cli.stdout.trim().split('\n').pop() ?? '{}');
    outcome = out.outcome ?? out.error ?? `exit ${code}`;
  } catch {
    outcome = `exit ${code}`;
  }
  if (skipIndex && terminated) outcome = 'staged (terminated at index build)';
  else if (code !== 0)
    throw new Error(`migration failed (exit ${code}): ${cli.stdout.slice(-2000)} ${cli.stderr.slice(-2000)}`);
  const workerPeakKb = Math.max(worker.peakKb, vmHwmKb(worker.child.pid!));
  worker.child.kill('SIGTERM');
  await Promise.race([worker.exit, new Promise((r) => setTimeout(r, 35_000))]);
  worker.stopPolling();
  writeFileSync(path.join(ROOT, '.bench', `worker-${n}-${build.label}.log`), `${worker.stdout}${worker.stderr}`);
  // A terminated workflow's index build goes on in its backend until it notices the client is
  // gone: stop it, or it would compete with the raw COPY measured next.
  await terminateBackends(adminUrl);

  if (!runId) runId = (await temporal.workflow.getHandle(workflowId).describe()).runId;
  const phases = await phasesOf(temporal, workflowId, runId, slots);
  const src = await sourceBatches(store);
  phases.rows = src.collections.reduce((s, c) => s + c.records, 0);
  const vectors = src.collections.filter((c) => c.collection.startsWith('vdb_')).reduce((s, c) => s + c.records, 0);
  const result: SizeResult = {
    build: build.label,
    size: n,
    vectors,
    rows: phases.rows,
    storeGB,
    phases,
    cliSeconds,
    outcome,
    workerPeakMB: workerPeakKb / 1024,
    cliPeakMB: cli.peakKb / 1024,
    stagingRowsPerSecond: phases.rows / phases.staging,
    stagingCpu: cpu.between(phases.stagingFrom, phases.stagingTo),
    phaseCpu: Object.fromEntries(Object.entries(phases.windows).map(([k, w]) => [k, cpu.between(w.from, w.to)])),
    workerCpuPerRowUs: 0,
  };
  result.workerCpuPerRowUs = (result.stagingCpu.worker / phases.rows) * 1e6;
  log(
    `  migration ${outcome}: total ${phases.total.toFixed(1)} s, staging ${phases.staging.toFixed(1)} s = ${fmt(result.stagingRowsPerSecond)} rows/s; worker CPU ${result.workerCpuPerRowUs.toFixed(1)} µs/row; worker ${result.workerPeakMB.toFixed(0)} MB, CLI ${result.cliPeakMB.toFixed(0)} MB`,
  );
  return { result, terminated };
}

/** The floor (raw COPY + the same index builds) and the INSERT baseline, measured once per size for every build's result. */
async function measureFloor(
  n: number,
  store: string,
  results: SizeResult[],
  terminated: boolean,
  adminUrl: string,
  slots: number,
): Promise<void> {
  const url = withDb(adminUrl, BENCH_DB);
  const src = await sourceBatches(store);
  const result = results[results.length - 1]!;
  const phases = result.phases;
  // the limit and the baseline, in staging schemas of the same database (production tables of the migration stay)
  const pool = new pg.Pool({ connectionString: url, max: Math.max(2, slots) });
  const concurrency = Math.min(slots, o.parallelism * COLLECTION_PARALLELISM);
  try {
    // A terminated migration's staging tables are no longer needed: free their disk before the
    // raw COPY writes the same rows again (a 500k-chunk store is ~12 GB of tables).
    if (terminated) {
      const { rows } = await pool.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'hybridrag\\_stage\\_%'`,
      );
      for (const r of rows) await pool.query(`DROP SCHEMA "${r.nspname}" CASCADE`);
    }
    if (o.raw) {
      const plan = planTarget({
        migrationId: `bench-raw-${Date.now()}`,
        workspace: 'default',
        dimension: src.dimension,
      });
      await prepareStaging(pool, plan);
      log(`  raw binary COPY, ${concurrency} batches in flight …`);
      const r = await rawCopy(pool, plan, src.collections, concurrency);
      result.raw = { ...r, rowsPerSecond: r.rows / r.seconds };
      log(`  raw COPY ${r.rows} rows in ${r.seconds.toFixed(1)} s = ${fmt(result.raw.rowsPerSecond)} rows/s`);
      if (phases.indexes !== undefined) {
        log(`  the same index builds on the raw-copied tables …`);
        const t0 = performance.now();
        await buildIndexes(pool, plan);
        const indexSeconds = (performance.now() - t0) / 1000;
        result.raw.indexSeconds = indexSeconds;
        const floor = r.seconds + indexSeconds;
        log(
          `  floor: raw COPY ${r.seconds.toFixed(1)} s + index builds ${indexSeconds.toFixed(1)} s = ${floor.toFixed(1)} s`,
        );
        for (const x of results) {
          x.raw = result.raw;
          if (x.phases.indexes !== undefined) x.floorRatio = x.phases.total / floor;
          log(`  ${x.build}: migration ${x.phases.total.toFixed(1)} s = ${x.floorRatio?.toFixed(2)} × floor`);
        }
      } else for (const x of results) x.raw = result.raw;
      await cleanupStaging(pool, plan, { dropPreviousGeneration: true }).catch(() => undefined);
    }
    if (o.insert) {
      const plan = planTarget({
        migrationId: `bench-insert-${Date.now()}`,
        workspace: 'default',
        dimension: src.dimension,
      });
      await prepareStaging(pool, plan);
      log(`  INSERT per row, ${o.insertSample} rows per collection …`);
      const r = await insertBaseline(pool, plan, src.collections);
      result.insert = {
        seconds: r.seconds,
        sampled: r.sampled,
        rowsPerSecond: r.rows / r.seconds,
        perCollection: r.perCollection,
      };
      log(
        `  INSERT per row: ${fmt(result.insert.rowsPerSecond)} rows/s (sample ${r.sampled} rows, extrapolated ${r.seconds.toFixed(0)} s for ${r.rows})`,
      );
      await cleanupStaging(pool, plan, { dropPreviousGeneration: true }).catch(() => undefined);
    }
  } finally {
    await pool.end();
  }
  for (const x of results) if (result.insert) x.insert = result.insert;
  log(`  (size ${fmt(n)} done)`);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const sizeCell = (r: SizeResult) => (o.baselineDist ? `${fmt(r.size)} (${r.build})` : fmt(r.size));
const s1 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(1));

/** The Temporal server's share of all CPU time spent during staging. */
const temporalShare = (c: Record<Component, number>) =>
  c.temporal / (c.worker + c.postgres + c.temporal + c.cli + c.other);

function report(results: SizeResult[], slots: number): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${fmt(r.size)} chunks (${fmt(r.rows)} rows)${o.baselineDist ? `, build ${r.build}` : ''}:`);
    if (r.floorRatio !== undefined) lines.push(`ratio to PostgreSQL floor: ${r.floorRatio.toFixed(2)}`);
    lines.push(`worker CPU per row: ${r.workerCpuPerRowUs.toFixed(0)} µs`);
  }
  lines.push('');
  lines.push(
    `Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; ${new Date().toISOString().slice(0, 10)}`,
  );
  lines.push(
    `Settings: dim ${o.dim}, chunk text ${o.chunkChars} chars, batch ${o.batchSize}, parallelism ${o.parallelism} × ${COLLECTION_PARALLELISM} collections, worker slots ${slots}${o.skipIndex ? ', --skip-index' : o.indexUpTo ? `, indexes only up to ${fmt(o.indexUpTo)}` : ''}`,
  );
  lines.push('');
  const table = (header: string[], rows: string[][]) => {
    lines.push(
      `| ${header.join(' | ')} |`,
      `|${header.map(() => '---|').join('')}`,
      ...rows.map((r) => `| ${r.join(' | ')} |`),
    );
  };
  table(
    [
      'size (chunks)',
      'vectors',
      'rows',
      'store GB',
      'backup s',
      'plan s',
      'staging s',
      'finish s',
      'index s',
      'verify s',
      'promote s',
      'total s',
      'staging rows/s',
      'raw COPY rows/s',
      'ratio',
      'INSERT/row rows/s (sampled)',
      '× baseline',
      'worker peak MB',
      'CLI peak MB',
    ],
    results.map((r) => {
      const p = r.phases;
      return [
        sizeCell(r),
        fmt(r.vectors),
        fmt(r.rows),
        r.storeGB.toFixed(2),
        s1(p.backup),
        s1(p.plan),
        s1(p.staging),
        s1(p.finish),
        s1(p.indexes),
        s1(p.verify),
        s1(p.promote),
        s1(p.total),
        fmt(r.stagingRowsPerSecond),
        r.raw ? fmt(r.raw.rowsPerSecond) : '–',
        r.raw ? (r.stagingRowsPerSecond / r.raw.rowsPerSecond).toFixed(2) : '–',
        r.insert ? fmt(r.insert.rowsPerSecond) : '–',
        r.insert ? (r.stagingRowsPerSecond / r.insert.rowsPerSecond).toFixed(1) : '–',
        r.workerPeakMB.toFixed(0),
        r.cliPeakMB.toFixed(0),
      ];
    }),
  );
  lines.push('', 'Cost per row and memory by size (staging = load of all collections through Temporal):', '');
  table(
    [
      'size',
      'outcome',
      'staging µs/row',
      'whole migration µs/row',
      'load activities',
      'median activity ms',
      'slot idle (Temporal dispatch)',
      'median schedule→start ms',
      'worker MB',
      'CLI MB',
    ],
    results.map((r) => {
      const p = r.phases;
      return [
        sizeCell(r),
        r.outcome,
        ((p.staging / r.rows) * 1e6).toFixed(1),
        ((p.total / r.rows) * 1e6).toFixed(1),
        String(p.loadActivities),
        p.batchMedianMs.toFixed(0),
        `${(p.slotIdle * 100).toFixed(1)} %`,
        p.scheduleToStartMedianMs.toFixed(0),
        r.workerPeakMB.toFixed(0),
        r.cliPeakMB.toFixed(0),
      ];
    }),
  );
  lines.push('', 'CPU seconds during staging, by process (2 cores = 2 CPU s per second of staging):', '');
  table(
    ['size', 'staging s', 'worker', 'PostgreSQL', 'Temporal server', 'CLI', 'other', 'Temporal server share'],
    results.map((r) => {
      const c = r.stagingCpu;
      return [
        sizeCell(r),
        s1(r.phases.staging),
        s1(c.worker),
        s1(c.postgres),
        s1(c.temporal),
        s1(c.cli),
        s1(c.other),
        `${(temporalShare(c) * 100).toFixed(1)} %`,
      ];
    }),
  );
  lines.push('', 'CPU seconds by process during the other phases (wall s in brackets; 2 cores):', '');
  table(
    ['size', 'phase', 'wall s', 'worker', 'PostgreSQL', 'Temporal server', 'CLI', 'other'],
    results.flatMap((r) =>
      Object.entries(r.phaseCpu).map(([k, c]) => {
        const w = r.phases.windows[k]!;
        return [
          sizeCell(r),
          k,
          s1((w.to - w.from) / 1000),
          s1(c.worker),
          s1(c.postgres),
          s1(c.temporal),
          s1(c.cli),
          s1(c.other),
        ];
      }),
    ),
  );
  const first = results[0]!;
  const last = results[results.length - 1]!;
  lines.push('');
  lines.push('Goals:');
  if (last.raw)
    lines.push(
      `- staging ≥ 0.85 × raw binary COPY: ${results.map((r) => (r.raw ? (r.stagingRowsPerSecond / r.raw.rowsPerSecond).toFixed(2) : '–')).join(', ')}`,
    );
  if (last.insert)
    lines.push(
      `- ≥ 10 × one INSERT per row (sample extrapolated): ${results.map((r) => (r.insert ? (r.stagingRowsPerSecond / r.insert.rowsPerSecond).toFixed(1) : '–')).join(', ')}`,
    );
  lines.push(
    `- worker peak RSS ≤ 300 MB, flat with size: ${results.map((r) => `${r.workerPeakMB.toFixed(0)} MB`).join(', ')}`,
  );
  if (results.length > 1)
    lines.push(
      `- staging time per row at ${fmt(last.size)} vs ${fmt(first.size)}: ${((last.phases.staging / last.rows / (first.phases.staging / first.rows) - 1) * 100).toFixed(1)} % (goal within 10 %)`,
    );
  lines.push(
    `- Temporal overhead per batch < 5 %: worker slot time not inside a load activity ${results.map((r) => `${(r.phases.slotIdle * 100).toFixed(1)} %`).join(', ')}; Temporal server CPU during staging ${results.map((r) => `${(temporalShare(r.stagingCpu) * 100).toFixed(1)} %`).join(', ')}`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const sizes = o.sizes.split(',').map(parseSize);
  const adminUrl = databaseUrl();
  const slots = o.slots ?? Math.max(2, Math.min(16, os.availableParallelism()));
  const { temporalSettings } = require(path.join(DIST, 'core/config.js')) as typeof import('../core/config');
  const settings = temporalSettings(process.env);
  const connection = await Connection.connect({ address: settings.address });
  const temporal = new Client({ connection, namespace: settings.namespace });
  mkdirSync(path.join(ROOT, '.bench'), { recursive: true });
  const results: SizeResult[] = [];
  try {
    for (const n of sizes) {
      log(`=== ${fmt(n)} chunks ===`);
      results.push(...(await benchSize(n, adminUrl, temporal, slots)));
      if (o.json)
        writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), options: o, slots, results }, null, 2));
    }
  } finally {
    await dropDatabase(adminUrl).catch(() => undefined);
    await connection.close();
  }
  process.stdout.write(`\n${report(results, slots)}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
