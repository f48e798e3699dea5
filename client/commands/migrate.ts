import type { WorkflowHandle } from '@temporalio/client';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { describeTarget } from '../../core/connection';
import { JOB_DEFAULTS } from '../../core/config';
import { PREVIEW_LISTED_REJECTS, previewMigration } from '../../core/migration/preview';
import type { MigrationProgress } from '../../core/migration/types';
import { describePromotePreview } from '../../core/postgres/promotePreview';
import { SourceError } from '../../core/source/errors';
import { progressQuery } from '../../workflows/control';
import type { MigrationResult } from '../../workflows/migration';
import { shortBackupId } from '../backupIds';
import { resolveDatabase, type DatabaseRef } from '../database';
import { UserError } from '../errors';
import { runMigrationJob, type MigrationRequest, type ResolvedJob } from '../job/migration';
import { readOnlyPool, resolveTarget } from '../job/target';
import { banner, closingBanner, formatDuration, PhasePrinter } from '../progress';
import { openPromoted, openResultText } from '../openResult';
import { confirm } from '../prompt';
import { pauseWatcher } from '../watcher';
import { backupOnlyCommand, listBackupsCommand, rollbackCommand } from './backups';
import type { CommandIo } from './io';

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
      .default(JOB_DEFAULTS.batchSize),
    dryRun: z.boolean().default(false),
    skipVerify: z.boolean().default(false),
    strict: z.boolean().default(false),
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
    layout: z.enum(['lightrag', 'hybridrag']).default(JOB_DEFAULTS.layout),
    workspace: z.string().min(1).max(255).optional(),
    embeddingModel: z.string().min(1).optional(),
    highDimensionIndex: z.enum(['none', 'halfvec']).default(JOB_DEFAULTS.highDimensionIndex),
    backupCompression: z.enum(['none', 'gzip']).default('none'),
    json: z.boolean().default(false),
    worker: z.enum(['auto', 'embedded', 'external']).default('auto'),
    // load activities queued per collection: with every collection loading at once this keeps the
    // worker's slots fed (docs/benchmarks.md)
    parallelism: z.coerce.number().int().min(1).max(64).default(JOB_DEFAULTS.parallelism),
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
    if (flags.strict && flags.skipVerify)
      ctx.addIssue({
        code: 'custom',
        path: ['strict'],
        message: 'cannot be combined with --skip-verify: only the verification finds fitted values; choose one',
      });
    for (const k of ['staged', 'resume', 'skipVerify'] as const) {
      const other = actions.find((a) => a !== 'dryRun' || k === 'resume');
      if (flags[k] && other)
        ctx.addIssue({ code: 'custom', path: [k], message: `cannot be combined with ${flagName(other)}; choose one` });
    }
  });
export type MigrateFlags = z.infer<typeof MigrateFlagsSchema>;

/** `--dry-run`: what would be migrated and where; reads the files, writes nothing anywhere. */
export async function dryRun(flags: MigrateFlags, db: DatabaseRef, io: CommandIo): Promise<unknown> {
  const resolved = resolveTarget(flags.connectionString);
  const { target } = resolved;
  const pool = readOnlyPool(resolved, 'hybridrag-migrate dry run');
  const preview = await previewMigration(db.path, {
    workspace: flags.workspace,
    layout: flags.layout,
    embeddingModel: flags.embeddingModel,
    highDimensionIndex: flags.highDimensionIndex,
    batchSize: flags.batchSize,
    staged: flags.staged,
    verify: !flags.skipVerify,
    promoteTarget: pool,
  })
    .catch((error: unknown) => {
      throw error instanceof SourceError ? new UserError(error.message) : error;
    })
    .finally(() => pool.end().catch(() => undefined));
  const report = { database: db.name, path: db.path, target: describeTarget(target), ...preview };
  if (flags.json) return report;
  io.out(`${banner(`DRY RUN: migration preview for '${db.name}'`)}\n`);
  io.out(
    `Source:     ${db.path}\nTarget:     ${report.target} (workspace '${preview.workspace}', layout ${preview.layout})\n`,
  );
  io.out(`Dimension:  ${preview.dimension} (from ${preview.dimensionSource})\n\n`);
  const header = ['collection', 'records', 'dim', 'size', 'batches', 'target table'];
  const table = preview.collections.map((r) => [
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
  if (preview.absent.length) io.out(`Absent (nothing to migrate): ${preview.absent.join(', ')}\n`);
  if (preview.otherWorkspaces.length) io.out(`${workspacesNote(db, preview.otherWorkspaces)}\n`);
  if (preview.unrecognized.length) io.out(`⚠️  ${unrecognizedNote(preview.unrecognized)}\n`);
  const { count: fitCount, values: fits } = preview.fitted;
  if (fitCount) {
    io.out(
      `⚠️  ${fitCount.toLocaleString('en-US')} value${fitCount === 1 ? '' : 's'} cannot be stored as ${fitCount === 1 ? 'it is' : 'they are'} and will be fitted (listed in the verification report; --strict refuses this):\n`,
    );
    for (const f of fits.slice(0, 10)) io.out(`   ${f.collection} ${JSON.stringify(f.id)} ${f.field}: ${f.change}\n`);
    if (fitCount > 10)
      io.out(
        `   … and ${(fitCount - 10).toLocaleString('en-US')} more (--json lists up to ${PREVIEW_LISTED_REJECTS})\n`,
      );
  }
  const long = preview.overLightragVarchar;
  if (long.length)
    io.out(
      `⚠️  ${long.length} value${long.length === 1 ? '' : 's'} will be stored whole but ${long.length === 1 ? 'is' : 'are'} longer than LightRAG's own column (${long[0]!.column} holds ${long[0]!.limit}, id ${JSON.stringify(long[0]!.id)}): LightRAG started with an embedding model name copies unsuffixed vector tables into its own tables and would refuse to start; pass --embedding-model <the model LightRAG uses>\n`,
    );
  const { count: rejectCount, records: rejects } = preview.rejected;
  if (rejectCount) {
    io.out(
      `⚠️  ${rejectCount.toLocaleString('en-US')} record${rejectCount === 1 ? '' : 's'} cannot be loaded and will be left out (listed in the verification report; the rest migrates; exit code ${EXIT_RECORDS_LEFT_OUT}):\n`,
    );
    for (const r of rejects.slice(0, 10)) io.out(`   ${r.collection} ${JSON.stringify(r.id)}: ${r.reason}\n`);
    if (rejectCount > 10)
      io.out(
        `   … and ${(rejectCount - 10).toLocaleString('en-US')} more (--json lists up to ${PREVIEW_LISTED_REJECTS})\n`,
      );
  }
  const phases = (
    [
      ['backup', preview.estimate.backup],
      ['planning', preview.estimate.planning],
      ['staging', preview.estimate.staging],
      ['index build', preview.estimate.indexBuild],
      ['verify', preview.estimate.verify],
    ] as const
  )
    .filter(([, seconds]) => seconds > 0)
    .map(([name, seconds]) => `${name} ${formatDuration(seconds)}`);
  io.out(
    `Estimated time: about ${formatDuration(preview.estimate.total)} on 2 cores (${phases.join(', ')}); more cores are faster\n`,
  );
  if (preview.promote)
    io.out(
      'seconds' in preview.promote
        ? `${describePromotePreview(preview.promote, formatDuration)}\n`
        : `Promote: not known yet (the target could not be read: ${preview.promote.error})\n`,
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

/** The job service's request for these flags (the API builds the same from its options). */
function migrationRequest(flags: MigrateFlags, db: DatabaseRef): MigrationRequest {
  return {
    db,
    connection: flags.connectionString,
    mode: flags.staged ? 'staged' : 'direct',
    workspace: flags.workspace,
    layout: flags.layout,
    embeddingModel: flags.embeddingModel,
    highDimensionIndex: flags.highDimensionIndex,
    backupCompression: flags.backupCompression,
    batchSize: flags.batchSize,
    parallelism: flags.parallelism,
    batchesPerActivity: flags.batchesPerActivity,
    skipVerify: flags.skipVerify,
    strict: flags.strict,
    resume: flags.resume,
    worker: flags.worker,
  };
}

function resumeNotice(job: ResolvedJob): string {
  if (!job.resumed) return '';
  if (job.resumed.by === 'flag') return `Resuming job ${job.jobId}: its completed batches are kept.\n`;
  return `⚠️  Previous ${job.resumed.mode} migration detected at phase: ${job.resumed.phase}\n   Resuming from last checkpoint...\n`;
}

/**
 * Draws the workflow's progress while it runs. A progress query still in flight (or in the gRPC
 * client's retry timer) when the session closes crashes the process with "Channel has been shut
 * down": each query has a deadline, one runs at a time, and stopping waits for the last one.
 */
function watchProgress(
  handle: WorkflowHandle,
  printer: PhasePrinter,
  isTty: boolean,
): { last(): MigrationProgress | undefined; stop(): Promise<void> } {
  let last: MigrationProgress | undefined;
  let inflight: Promise<void> | undefined;
  const poll = setInterval(
    () => {
      if (inflight) return;
      inflight = handle.client.connection
        .withDeadline(Date.now() + 3_000, () => handle.query(progressQuery))
        .then((p) => {
          last = p;
          printer.update(p);
        })
        .catch(() => undefined)
        .finally(() => {
          inflight = undefined;
        });
    },
    isTty ? 500 : 1000,
  );
  return {
    last: () => last,
    async stop() {
      clearInterval(poll);
      await inflight;
    },
  };
}

/** A staged or direct migration through Temporal, attaching to a running one for the same database and target. */
export async function runMigration(flags: MigrateFlags, db: DatabaseRef, io: CommandIo): Promise<MigrationResult> {
  const request = migrationRequest(flags, db);
  const mode = request.mode;
  const printer = new PhasePrinter(mode, io.out, io.isTty);
  let watcher: ReturnType<typeof watchProgress> | undefined;
  let outcome;
  try {
    outcome = await runMigrationJob(request, {
      onResolved: (job) => {
        if (!flags.json) io.out(resumeNotice(job));
      },
      confirm: (question) => confirm(question, flags.yes),
      hold: async () => {
        const held = await holdWatcher(flags, db, io);
        return () => held.release();
      },
      onStarted: (handle, { running, link, job }) => {
        if (flags.json) return async () => undefined; // nothing drawn: no progress queries
        if (running) io.out(`A migration of '${db.name}' into this target is already running; attaching to it.\n`);
        io.out(
          `${banner(`${mode === 'staged' ? 'STAGED MIGRATION' : 'MIGRATION'} for '${db.name}'`, mode === 'staged' ? 'Workflow: Backup → Staging → Verify → Promote' : 'Workflow: Staging → Verify → Promote')}\n`,
        );
        io.out(`Job ${job.jobId} · watch it in the Temporal UI: ${link}\n`);
        watcher = watchProgress(handle, printer, io.isTty);
        return () => watcher!.stop();
      },
    });
  } catch (error) {
    const last = watcher?.last();
    if (last) printer.finish(last);
    throw error;
  }
  const { job, result } = outcome;
  if (!flags.json) printOutcome(result, mode, db, printer, io);
  if (result.outcome === 'verification_failed') {
    throw new UserError(
      `Verification failed (${result.verification?.summary.join('; ')}); nothing was promoted — see ${result.verification?.reportFile || 'the report'}, fix the cause and run again, or --skip-verify to promote anyway.`,
    );
  }
  if (result.outcome === 'cancelled')
    throw new UserError(
      `The migration was cancelled; its staged batches are kept — run the same command again to resume job ${job.jobId}.`,
    );
  return result;
}

function printOutcome(
  result: MigrationResult,
  mode: 'staged' | 'direct',
  db: DatabaseRef,
  printer: PhasePrinter,
  io: CommandIo,
): void {
  printer.finish(result.progress);
  if (result.verification) {
    io.out(
      `\nVerification (${result.verification.reportFile}):\n${result.verification.lines.map((l) => `   ${l}`).join('\n')}\n`,
    );
  }
  for (const note of result.notes) io.out(`   note: ${note}\n`);
  if (result.source.otherWorkspaces?.length) io.out(`   note: ${workspacesNote(db, result.source.otherWorkspaces)}\n`);
  if (result.source.unrecognized?.length) io.out(`   note: ${unrecognizedNote(result.source.unrecognized)}\n`);
  if (result.outcome !== 'promoted') return;
  io.out(`\n${endOfRun(result, mode).join('\n')}\n\n`);
  if (result.backupId) {
    const id = shortBackupId(result.backupId);
    io.out(`Backup retained: ${id}\nTo rollback if needed: hybridrag backend migrate ${db.name} --rollback ${id}\n`);
  }
}

/** Exit code of a promoted migration that left records out (0 success, 1 failure, 2 usage error). */
export const EXIT_RECORDS_LEFT_OUT = 3;

/** What a promoted run stored: every record exactly, some values fitted, or records left out. */
export function runOutcome(result: MigrationResult) {
  const v = result.verification;
  const leftOut = v ? v.leftOut : result.progress.collections.reduce((n, c) => n + c.rejected, 0);
  return {
    fittedValues: v?.fittedValues ?? 0,
    fittedRecords: v?.fittedRecords ?? 0,
    leftOut,
    leftOutRecords: v?.leftOutRecords ?? [],
    reportFile: v?.reportFile ?? null,
    exitCode: leftOut > 0 ? EXIT_RECORDS_LEFT_OUT : 0,
  };
}

/** The closing banner and the ⚠️ lines of a promoted run. */
function endOfRun(result: MigrationResult, mode: 'staged' | 'direct'): string[] {
  const o = runOutcome(result);
  const what = mode === 'staged' ? 'STAGED MIGRATION' : 'MIGRATION';
  const report = o.reportFile ?? 'the staging rejects (run without --skip-verify for a report)';
  if (o.leftOut > 0) {
    const shown = o.leftOutRecords.slice(0, 10).map((r) => `   ${r.collection} ${JSON.stringify(r.id)}: ${r.reason}`);
    return [
      closingBanner(`⚠️  ${what} COMPLETED WITH ${o.leftOut} RECORD${o.leftOut === 1 ? '' : 'S'} LEFT OUT`),
      `⚠️  ${o.leftOut} record${o.leftOut === 1 ? ' is' : 's are'} not in PostgreSQL (exit code ${EXIT_RECORDS_LEFT_OUT}); listed in ${report}:`,
      ...shown,
      ...(o.leftOut > shown.length ? [`   … and ${o.leftOut - shown.length} more`] : []),
    ];
  }
  const lines = [closingBanner(`✅ ${what} COMPLETED SUCCESSFULLY`)];
  if (o.fittedValues > 0)
    lines.push(
      `⚠️  Every record is in PostgreSQL; ${o.fittedValues} value${o.fittedValues === 1 ? ' was' : 's were'} fitted in ${o.fittedRecords} record${o.fittedRecords === 1 ? '' : 's'} (NUL removed, lone surrogate replaced, legacy cache key renamed): listed in ${report}`,
    );
  return lines;
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
  const open = result.outcome === 'promoted' ? await openPromoted(db) : null;
  if (open && !flags.json) io.out(`\n${openResultText(open)}`);
  const verification = result.verification
    ? {
        passed: result.verification.passed,
        reportFile: result.verification.reportFile,
        lines: result.verification.lines,
      }
    : null;
  const { exitCode, ...stored } = runOutcome(result);
  return {
    outcome: result.outcome,
    exitCode,
    ...stored,
    jobId: result.jobId,
    backupId: result.backupId,
    rows: result.progress.rowsDone,
    collections: result.progress.collections,
    verification,
    notes: result.notes,
    open,
  };
}
