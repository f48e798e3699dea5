import type { CommandIo } from './io';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  ConnectionStringError,
  describeTarget,
  parseConnectionString,
  type DatabaseTarget,
} from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import { DEFAULT_COLLECTION_PARALLELISM, temporalSettings, workflowUiLink } from '../../core/config';
import { estimatePhases } from '../../core/migration/estimate';
import { planCollections } from '../../core/migration/planning';
import { readState, stateTimestamp, writeState } from '../../core/state/stateFile';
import { SourceError } from '../../core/source/errors';
import { readBatch } from '../../core/source';
import { planTarget } from '../../core/postgres/plan';
import { batchRejects } from '../../core/postgres/preview';
import type { AnyRecord } from '../../core/postgres/layouts/types';
import { checkTarget } from '../../core/postgres/staging';
import { TargetError } from '../../core/postgres/errors';
import { IdentifierError } from '../../core/postgres/identifiers';
import { openPool } from '../../core/database/connect';
import { DatabaseError, describeDatabaseError } from '../../core/database/errors';
import type { MigrationInput, MigrationResult } from '../../workflows/migration';
import { DATABASE_ATTRIBUTE } from '../../workflows/searchAttributes';
import type { MigrationProgress } from '../../core/migration/types';
import { shortBackupId } from '../backupIds';
import { resolveDatabase, type DatabaseRef } from '../database';
import { UserError } from '../errors';
import { failureMessage } from '../failures';
import { migrationWorkflowId, newJobId } from '../jobs';
import { banner, closingBanner, formatDuration, PhasePrinter } from '../progress';
import { confirm } from '../prompt';
import { backupOnlyCommand, listBackupsCommand, rollbackCommand } from './backups';
import { pauseWatcher } from '../watcher';
import { awaitResult, hostWorker } from '../runner';
import { connectTemporal, runningExecution, startOrAttach } from '../temporal';

export const MigrateFlagsSchema = z
  .object({
    name: z.string().min(1).optional(),
    path: z.string().min(1).optional(),
    connectionString: z.string().min(1).optional(),
    batchSize: z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(100_000, 'must be at most 100000')
      .default(1000),
    dryRun: z.boolean().default(false),
    skipVerify: z.boolean().default(false),
    resume: z
      .string()
      .regex(/^job-[A-Za-z0-9-]+$/, 'must be a job id such as job-20251219-213814-ab12 (see hybridrag backend status)')
      .optional(),
    pauseWatcher: z.boolean().default(true),
    yes: z.boolean().default(false),
    staged: z.boolean().default(false),
    backupOnly: z.boolean().default(false),
    rollback: z.string().min(1).optional(),
    listBackups: z.boolean().default(false),
    layout: z.enum(['lightrag', 'hybridrag']).default('lightrag'),
    workspace: z.string().min(1).max(255).optional(),
    embeddingModel: z.string().min(1).optional(),
    highDimensionIndex: z.enum(['none', 'halfvec']).default('none'),
    json: z.boolean().default(false),
    worker: z.enum(['auto', 'embedded', 'external']).default('auto'),
    // load activities queued per collection: with every collection loading at once this keeps the
    // worker's slots fed (docs/benchmarks.md)
    parallelism: z.coerce.number().int().min(1).max(64).default(4),
    // finer ranges make pause and cancel act sooner, at more Temporal cost per row
    batchesPerActivity: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .superRefine((flags, ctx) => {
    const actions = (['dryRun', 'backupOnly', 'rollback', 'listBackups'] as const).filter((k) => flags[k]);
    const flagName = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (actions.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [actions[1]!],
        message: `cannot be combined with ${flagName(actions[0]!)}; choose one`,
      });
    }
    for (const k of ['staged', 'resume', 'skipVerify'] as const) {
      const other = actions.find((a) => a !== 'dryRun' || k === 'resume');
      if (flags[k] && other)
        ctx.addIssue({ code: 'custom', path: [k], message: `cannot be combined with ${flagName(other)}; choose one` });
    }
  });
export type MigrateFlags = z.infer<typeof MigrateFlagsSchema>;

function parseTarget(flags: MigrateFlags): { target: DatabaseTarget; password?: string } {
  const url = flags.connectionString ?? process.env.DATABASE_URL;
  if (!url)
    throw new UserError(
      'No PostgreSQL to migrate into: pass --connection-string postgresql://user:pass@host:5432/db (or set DATABASE_URL).',
      2,
    );
  try {
    return parseConnectionString(url);
  } catch (error) {
    if (error instanceof ConnectionStringError) throw new UserError(error.message, 2);
    throw error;
  }
}

/** Rejected records the dry run lists (the count is always exact). */
const DRY_RUN_LISTED_REJECTS = 1000;

/** `--dry-run`: what would be migrated and where; reads the files, writes nothing anywhere. */
export async function dryRun(flags: MigrateFlags, db: DatabaseRef, io: CommandIo): Promise<unknown> {
  const { target } = parseTarget(flags);
  const workspace = flags.workspace ?? 'default';
  let plans;
  const rejects: { collection: string; id: string; reason: string }[] = [];
  let rejectCount = 0;
  let layout;
  let vectorIndex: boolean;
  try {
    plans = await planCollections(db.path, { batchSize: flags.batchSize });
    const model = flags.embeddingModel ?? plans.embeddingModel;
    const targetPlan = planTarget({
      migrationId: 'dry-run',
      workspace,
      layout: flags.layout,
      dimension: plans.dimension,
      highDimensionIndex: flags.highDimensionIndex,
      ...(model ? { embeddingModel: model } : {}),
    });
    layout = targetPlan.layout;
    vectorIndex = targetPlan.vectorIndex !== 'none';
    // A preview that only planned would miss what a batch read finds (bad per-record vectors, bad
    // escapes) and the records the loader will reject (NaN / ±Inf vectors, over-long keys, …):
    // read and encode every batch, one at a time (memory bounded), into a scratch buffer.
    for (const { collection, plan } of plans.collections) {
      for (let k = 0; k < plan.batches.length; k++) {
        for (const r of batchRejects(targetPlan, collection, (await readBatch(plan, k)) as AnyRecord[])) {
          rejectCount += 1;
          if (rejects.length < DRY_RUN_LISTED_REJECTS) rejects.push({ collection, ...r });
        }
      }
    }
  } catch (error) {
    if (error instanceof SourceError) throw new UserError(error.message);
    throw error;
  }
  const estimate = estimatePhases({
    bytes: plans.collections.reduce((n, { plan }) => n + plan.size, 0),
    rows: plans.collections.reduce((n, { plan }) => n + plan.recordCount, 0),
    vectors: plans.collections.flatMap(({ plan }) =>
      plan.kind === 'vdb' ? [{ count: plan.recordCount, dim: plan.dim }] : [],
    ),
    vectorIndex,
    staged: flags.staged,
    verify: !flags.skipVerify,
  });
  const rows = plans.collections.map(({ collection, plan }) => ({
    collection,
    file: path.basename(plan.file),
    records: plan.recordCount,
    bytes: plan.size,
    batches: plan.batches.length,
    dimension: plan.kind === 'vdb' ? plan.dim : null,
    dimensionSource: plan.kind === 'vdb' ? plan.dimSource : null,
    table: layout.collections[collection]?.table ?? null,
  }));
  const report = {
    database: db.name,
    path: db.path,
    target: describeTarget(target),
    workspace,
    layout: flags.layout,
    dimension: plans.dimension,
    dimensionSource: plans.dimensionSource,
    collections: rows,
    absent: plans.absent,
    otherWorkspaces: plans.otherWorkspaces,
    unrecognized: plans.unrecognized,
    rejected: { count: rejectCount, records: rejects },
    estimatedSeconds: estimate.total,
    estimate,
  };
  if (flags.json) return report;
  io.out(`${banner(`DRY RUN: migration preview for '${db.name}'`)}\n`);
  io.out(`Source:     ${db.path}\nTarget:     ${report.target} (workspace '${workspace}', layout ${flags.layout})\n`);
  io.out(`Dimension:  ${plans.dimension} (from ${plans.dimensionSource})\n\n`);
  const header = ['collection', 'records', 'dim', 'size', 'batches', 'target table'];
  const table = rows.map((r) => [
    r.collection,
    r.records.toLocaleString('en-US'),
    r.dimension ? `${r.dimension} (${r.dimensionSource})` : '-',
    `${(r.bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} KB`,
    String(r.batches),
    r.table ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `   ${cells.map((c, i) => (i === 1 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  io.out(`${line(header)}\n${table.map(line).join('\n')}\n\n`);
  if (plans.absent.length) io.out(`Absent (nothing to migrate): ${plans.absent.join(', ')}\n`);
  if (plans.otherWorkspaces.length) io.out(`${workspacesNote(db, plans.otherWorkspaces)}\n`);
  if (plans.unrecognized.length) io.out(`⚠️  ${unrecognizedNote(plans.unrecognized)}\n`);
  if (rejectCount) {
    io.out(
      `⚠️  ${rejectCount.toLocaleString('en-US')} record${rejectCount === 1 ? '' : 's'} cannot be loaded and will be rejected (listed in the verification report; the rest migrates):\n`,
    );
    for (const r of rejects.slice(0, 10)) io.out(`   ${r.collection} ${JSON.stringify(r.id)}: ${r.reason}\n`);
    if (rejectCount > 10)
      io.out(
        `   … and ${(rejectCount - 10).toLocaleString('en-US')} more (--json lists up to ${DRY_RUN_LISTED_REJECTS})\n`,
      );
  }
  const phases = (
    [
      ['backup', estimate.backup],
      ['planning', estimate.planning],
      ['staging', estimate.staging],
      ['index build', estimate.indexBuild],
      ['verify', estimate.verify],
    ] as const
  )
    .filter(([, seconds]) => seconds > 0)
    .map(([name, seconds]) => `${name} ${formatDuration(seconds)}`);
  io.out(
    `Estimated time: about ${formatDuration(estimate.total)} on 2 cores (${phases.join(', ')}); more cores are faster\n`,
  );
  io.out(`${closingBanner('No changes made (dry run).')}\n`);
  return report;
}

function unrecognizedNote(files: string[]): string {
  return `Not migrated: ${files.join(', ')} (no LightRAG PostgreSQL table holds ${files.length === 1 ? 'this collection' : 'these collections'}); ${files.length === 1 ? 'it stays' : 'they stay'} in the folder and in the backup`;
}

function workspacesNote(db: DatabaseRef, workspaces: string[]): string {
  const first = workspaces[0]!;
  return `Workspaces in sub-folders (${workspaces.join(', ')}) are separate LightRAG workspaces, not part of this migration: migrate each with --path ${path.join(db.path, first)} --workspace ${first}`;
}

/**
 * Before a workflow starts or anything is written: the target accepts this role's login, has
 * pgvector (created when allowed) and lets the role create the staging schema. A target that
 * points nowhere, a wrong password, a missing database or privilege is one sentence now, instead
 * of a workflow retrying a connection for ever or failing after the state file was written.
 */
export async function preflightTarget(
  target: DatabaseTarget,
  credentials: CredentialStore,
  jobId: string,
  workspace: string,
  layout: MigrateFlags['layout'],
): Promise<void> {
  let plan;
  try {
    plan = planTarget({ migrationId: jobId, workspace, layout, dimension: 1 });
  } catch (error) {
    if (error instanceof TargetError || error instanceof IdentifierError) throw new UserError(error.message, 2);
    throw error;
  }
  const pool = openPool(target, credentials, {
    max: 1,
    connectionTimeoutMillis: 10_000,
    applicationName: 'hybridrag-migrate preflight',
  });
  pool.on('error', () => undefined);
  try {
    await checkTarget(pool, plan);
  } catch (error) {
    if (error instanceof TargetError || error instanceof DatabaseError) throw new UserError(error.message);
    throw new UserError(
      describeDatabaseError(error, target).message.replace(
        /; it will be retried\.$/,
        '; check that PostgreSQL runs there and run again.',
      ),
    );
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** A staged or direct migration through Temporal, attaching to a running one for the same database and target. */
export async function runMigration(flags: MigrateFlags, db: DatabaseRef, io: CommandIo): Promise<MigrationResult> {
  const { target, password } = parseTarget(flags);
  const credentials = new CredentialStore();
  if (password !== undefined) credentials.remember(target, password);
  const workspace = flags.workspace ?? 'default';
  const mode = flags.staged ? 'staged' : 'direct';
  const state = await readState(db.path).catch((error: Error) => {
    throw new UserError(error.message);
  });

  let jobId: string;
  let existingBackupId: string | null = null;
  let batchSize = flags.batchSize;
  if (flags.resume) {
    jobId = flags.resume;
    if (state?.job_id === jobId) existingBackupId = state.backup_id;
    if (state?.job_id === jobId && state.batch_size) batchSize = state.batch_size;
    if (!flags.json) io.out(`Resuming job ${jobId}: its completed batches are kept.\n`);
  } else if (state && !['promoted', 'rolled_back'].includes(state.phase)) {
    jobId = state.job_id;
    existingBackupId = state.backup_id;
    if (state.batch_size) batchSize = state.batch_size;
    if (!flags.json)
      io.out(
        `⚠️  Previous ${state.mode ?? 'staged'} migration detected at phase: ${state.phase}\n   Resuming from last checkpoint...\n`,
      );
  } else {
    jobId = newJobId();
  }

  const settings = temporalSettings(process.env);
  const session = await connectTemporal(settings);
  try {
    const workflowId = migrationWorkflowId(db.name, target, workspace);
    const running = await runningExecution(session, workflowId);
    if (!running) {
      await preflightTarget(target, credentials, jobId, workspace, flags.layout);
      await confirm(
        `Migrate '${db.name}' (${db.path}) into ${describeTarget(target)}, workspace '${workspace}'?`,
        flags.yes,
      );
      if (!state || state.job_id !== jobId) {
        await writeState(db.path, {
          phase: 'initial',
          backup_id: existingBackupId,
          staging_complete: false,
          verification_passed: false,
          promoted: false,
          errors: [],
          updated_at: stateTimestamp(new Date()),
          job_id: jobId,
          workflow_id: workflowId,
          mode,
          target: describeTarget(target),
          workspace,
          batch_size: batchSize,
        });
      }
    }
    const watcher = await holdWatcher(flags, db, io);
    const host = await hostWorker(session, credentials, flags.worker, { workflowId, running });
    try {
      const input: MigrationInput = {
        job: {
          jobId,
          databaseName: db.name,
          databasePath: db.path,
          target,
          workspace,
          layout: flags.layout,
          ...(flags.embeddingModel ? { embeddingModel: flags.embeddingModel } : {}),
          ...(flags.highDimensionIndex === 'halfvec' ? { highDimensionIndex: 'halfvec' as const } : {}),
        },
        mode,
        // Batch boundaries are the exactly-once keys: a resumed job keeps the batch size it began with.
        batchSize,
        skipVerify: flags.skipVerify,
        parallelism: flags.parallelism,
        ...(flags.batchesPerActivity ? { batchesPerActivity: flags.batchesPerActivity } : {}),
        collectionParallelism: DEFAULT_COLLECTION_PARALLELISM,
        existingBackupId,
        ...(db.registry ? { registry: db.registry } : {}),
      };
      const handle = await startOrAttach(session, 'migrationWorkflow', {
        workflowId,
        taskQueue: host.taskQueue,
        args: [input],
        searchAttributes: { [DATABASE_ATTRIBUTE]: [db.name] },
      });
      const link = workflowUiLink(settings, workflowId);
      if (!flags.json) {
        if (running) io.out(`A migration of '${db.name}' into this target is already running; attaching to it.\n`);
        io.out(
          `${banner(`${mode === 'staged' ? 'STAGED MIGRATION' : 'MIGRATION'} for '${db.name}'`, mode === 'staged' ? 'Workflow: Backup → Staging → Verify → Promote' : 'Workflow: Staging → Verify → Promote')}\n`,
        );
        io.out(`Job ${jobId} · watch it in the Temporal UI: ${link}\n`);
      }
      const printer = new PhasePrinter(mode, io.out, io.isTty);
      let last: MigrationProgress | undefined;
      // A progress query still in flight (or in the gRPC client's retry timer) when the session
      // closes crashes the process with "Channel has been shut down": bound each query by a
      // deadline, run one at a time, and wait for the last one before closing.
      let inflight: Promise<void> | undefined;
      // with --json nothing is drawn: no progress queries (each is a workflow task on the worker)
      const poll = flags.json
        ? undefined
        : setInterval(
            () => {
              if (inflight) return;
              inflight = session.connection
                .withDeadline(Date.now() + 3_000, () => handle.query<MigrationProgress>('progress'))
                .then((p) => {
                  last = p;
                  printer.update(p);
                })
                .catch(() => undefined)
                .finally(() => {
                  inflight = undefined;
                });
            },
            io.isTty ? 500 : 1000,
          );
      let result: MigrationResult;
      try {
        result = await awaitResult<MigrationResult>(handle, host, flags.worker);
      } catch (error) {
        if (last) printer.finish({ ...last, phase: last.phase });
        throw new UserError(failureMessage(error));
      } finally {
        clearInterval(poll);
        await inflight;
      }
      if (!flags.json) {
        printer.finish(result.progress);
        if (result.verification) {
          io.out(
            `\nVerification (${result.verification.reportFile}):\n${result.verification.lines.map((l) => `   ${l}`).join('\n')}\n`,
          );
        }
        for (const note of result.notes) io.out(`   note: ${note}\n`);
        if (result.source.otherWorkspaces?.length)
          io.out(`   note: ${workspacesNote(db, result.source.otherWorkspaces)}\n`);
        if (result.source.unrecognized?.length) io.out(`   note: ${unrecognizedNote(result.source.unrecognized)}\n`);
        if (result.outcome === 'promoted') {
          io.out(
            `\n${closingBanner(`✅ ${mode === 'staged' ? 'STAGED MIGRATION' : 'MIGRATION'} COMPLETED SUCCESSFULLY`)}\n\n`,
          );
          if (result.backupId) {
            const id = shortBackupId(result.backupId);
            io.out(
              `Backup retained: ${id}\nTo rollback if needed: hybridrag backend migrate ${db.name} --rollback ${id}\n`,
            );
          }
        }
      }
      if (result.outcome === 'verification_failed') {
        throw new UserError(
          `Verification failed (${result.verification?.summary.join('; ')}); nothing was promoted — see ${result.verification?.reportFile || 'the report'}, fix the cause and run again, or --skip-verify to promote anyway.`,
        );
      }
      if (result.outcome === 'cancelled')
        throw new UserError(
          `The migration was cancelled; its staged batches are kept — run the same command again to resume job ${jobId}.`,
        );
      return result;
    } finally {
      await host.stop();
      watcher.release();
    }
  } finally {
    await session.close();
  }
}

/**
 * Pauses the database's HybridRAG watcher (unless --no-pause-watcher) and makes sure it is resumed
 * on every way out: success, failure, Ctrl-C or a kill.
 */
async function holdWatcher(flags: MigrateFlags, db: DatabaseRef, io: CommandIo): Promise<{ release(): void }> {
  if (!flags.pauseWatcher) return { release() {} };
  const pause = await pauseWatcher(db.name, process.env.HOME || os.homedir());
  if (!pause.wasRunning) return { release() {} };
  if (!flags.json)
    io.out(
      `Watcher for '${db.name}' (pid ${pause.pid}) paused${pause.acknowledged ? '' : ' (it has not acknowledged yet)'}.\n`,
    );
  const onSignal = (signal: NodeJS.Signals) => {
    pause.resume();
    io.err(
      `\nInterrupted: the watcher is resumed; the migration's progress is kept — run the same command again to attach or resume.\n`,
    );
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      pause.resume();
      if (!flags.json) io.out(`Watcher for '${db.name}' resumed.\n`);
    },
  };
}

/** `hybridrag backend migrate <name> …` */
export async function migrateCommand(flags: MigrateFlags, io: CommandIo): Promise<unknown> {
  const db = await resolveDatabase(flags.name, flags.path);
  if (flags.dryRun) return dryRun(flags, db, io);
  if (flags.listBackups) return listBackupsCommand(db, flags, io);
  if (flags.backupOnly || flags.rollback) {
    const watcher = await holdWatcher(flags, db, io);
    try {
      return flags.rollback
        ? await rollbackCommand(db, flags.rollback, flags, io)
        : await backupOnlyCommand(db, flags, io);
    } finally {
      watcher.release();
    }
  }
  const result = await runMigration(flags, db, io);
  const verification = result.verification
    ? {
        passed: result.verification.passed,
        reportFile: result.verification.reportFile,
        lines: result.verification.lines,
      }
    : null;
  return {
    outcome: result.outcome,
    jobId: result.jobId,
    backupId: result.backupId,
    rows: result.progress.rowsDone,
    collections: result.progress.collections,
    verification,
    notes: result.notes,
  };
}
