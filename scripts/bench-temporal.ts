/**
 * npm run bench:temporal -- [--fixture DIR] [--batch-size N] [--parallelism P]
 * Temporal's overhead per batch: the same direct migration (plan → staging → finish → indexes →
 * verify → promote) of a real fixture in many tiny batches, once as the migration workflow on the
 * Temporal server with an in-process worker, once calling the same core functions directly. Each
 * run gets a scratch database. Needs DATABASE_URL and TEMPORAL_ADDRESS (npm run services -- env).
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import pg from 'pg';
import { parseConnectionString, type DatabaseTarget } from '../core/connection';
import { CredentialStore } from '../core/credentials';
import { openPool } from '../core/database/connect';
import { readBatch } from '../core/source';
import { loadPlan, planDatabase } from '../core/migration/planning';
import { buildIndexes, checkTarget, finishStaging, loadBatch, prepareStaging, promote } from '../core/postgres';
import { verifyStaging } from '../core/verify';
import { targetPlanOf } from '../activities/targetPlan';
import { createWorker } from '../workers/createWorker';
import type { MigrationInput, migrationWorkflow } from '../workflows/migration';

const program = new Command('bench-temporal')
  .option(
    '--fixture <dir>',
    'LightRAG folder',
    path.resolve(__dirname, '../../../shared/fixtures/real/Rajendk-AITech__LightRAG__rag_storage'),
  )
  .option('--batch-size <n>', 'records per batch (tiny: many batches)', (v) => Number(v), 1)
  .option('--parallelism <n>', 'batches at once (1: serial, the fairest comparison)', (v) => Number(v), 1);
program.parse();
const o = program.opts<{ fixture: string; batchSize: number; parallelism: number }>();

async function scratch(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_temporal_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

function copy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-temporal-'));
  cpSync(o.fixture, dir, { recursive: true });
  return dir;
}

/** The same steps as the workflow, without Temporal: core calls in a loop. */
async function withoutTemporal(
  target: DatabaseTarget,
  credentials: CredentialStore,
): Promise<{ ms: number; batches: number }> {
  const dir = copy();
  const pool = openPool(target, credentials, { max: o.parallelism + 1, applicationName: 'bench-temporal' });
  const t0 = performance.now();
  const job = {
    jobId: 'bench-direct',
    databaseName: 'bench',
    databasePath: dir,
    target,
    workspace: 'default',
    layout: 'lightrag' as const,
  };
  const planned = await planDatabase(dir, job.jobId, { batchSize: o.batchSize });
  const plan = targetPlanOf({
    job,
    dimension: planned.dimension,
    ...(planned.embeddingModel ? { embeddingModel: planned.embeddingModel } : {}),
  });
  await checkTarget(pool, plan);
  await prepareStaging(pool, plan);
  let batches = 0;
  for (const c of planned.collections) {
    const p = await loadPlan(c.planFile);
    const queue = p.batches.map((_, i) => i);
    await Promise.all(
      Array.from({ length: o.parallelism }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const sourcePlan = await loadPlan(c.planFile); // as the activity does
          await loadBatch(pool, plan, {
            collection: c.collection,
            batchIndex: i,
            records: await readBatch(sourcePlan, i),
          });
          batches += 1;
        }
      }),
    );
  }
  await finishStaging(pool, plan);
  await buildIndexes(pool, plan);
  const report = await verifyStaging(
    pool,
    plan,
    planned.collections.map((c) => ({ collection: c.collection, plan: c.plan })),
  );
  if (!report.passed) throw new Error('verification failed without Temporal');
  await promote(pool, plan);
  const ms = performance.now() - t0;
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
  return { ms, batches };
}

async function withTemporal(
  target: DatabaseTarget,
  credentials: CredentialStore,
  address: string,
): Promise<{ ms: number; batches: number }> {
  const dir = copy();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const native = await NativeConnection.connect({ address });
  const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
  const { worker, close } = await createWorker({
    connection: native,
    namespace: 'default',
    credentials,
    taskQueue,
    activitySlots: Math.max(2, o.parallelism + 1),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const input: MigrationInput = {
    job: {
      jobId: 'bench-temporal',
      databaseName: 'bench',
      databasePath: dir,
      target,
      workspace: 'default',
      layout: 'lightrag',
    },
    mode: 'direct',
    batchSize: o.batchSize,
    skipVerify: false,
    parallelism: o.parallelism,
    collectionParallelism: 1,
  };
  const t0 = performance.now();
  const result = await client.workflow.execute<typeof migrationWorkflow>('migrationWorkflow', {
    taskQueue,
    workflowId: `bench-temporal/${taskQueue}`,
    args: [input],
  });
  const ms = performance.now() - t0;
  if (result.outcome !== 'promoted') throw new Error(`workflow ended ${result.outcome}`);
  worker.shutdown();
  await running;
  await close();
  await connection.close();
  await native.close();
  rmSync(dir, { recursive: true, force: true });
  return { ms, batches: result.source.collections.reduce((n, c) => n + c.batches, 0) };
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  if (!adminUrl) throw new Error('set DATABASE_URL (eval "$(npm run -s services -- env)")');
  const dbs = [await scratch(adminUrl), await scratch(adminUrl)];
  try {
    const credentials = new CredentialStore();
    const a = parseConnectionString(dbs[0]!.url);
    const b = parseConnectionString(dbs[1]!.url);
    credentials.remember(a.target, a.password!);
    credentials.remember(b.target, b.password!);
    const plain = await withoutTemporal(a.target, credentials);
    const temporal = await withTemporal(b.target, credentials, address);
    const per = (r: { ms: number; batches: number }) => r.ms / r.batches;
    console.log(
      `fixture ${path.basename(o.fixture)}, batch size ${o.batchSize}, parallelism ${o.parallelism}, ${temporal.batches} batches`,
    );
    console.log(`without Temporal: ${(plain.ms / 1000).toFixed(2)} s  ${per(plain).toFixed(1)} ms/batch`);
    console.log(`with Temporal:    ${(temporal.ms / 1000).toFixed(2)} s  ${per(temporal).toFixed(1)} ms/batch`);
    console.log(
      `overhead:         ${((temporal.ms - plain.ms) / temporal.batches).toFixed(1)} ms/batch (${(temporal.ms / plain.ms).toFixed(2)}x)`,
    );
  } finally {
    for (const d of dbs) await d.drop();
  }
}

main().catch((error: unknown) => {
  console.error(`error: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
