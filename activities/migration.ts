import type { AnyRecord } from '../core/postgres/layouts/types';
import { Context } from '@temporalio/activity';
import { describeTarget, type DatabaseTarget } from '../core/connection';
import type { CredentialStore } from '../core/credentials';
import { openBatch } from '../core/source';
import { loadPlan, planDatabase, removePlans } from '../core/migration/planning';
import { switchBackend } from '../core/registry/registry';
import { stateTimestamp, writeState, type MigrationState } from '../core/state/stateFile';
import {
  buildIndexes,
  checkTarget,
  finishStaging,
  loadBatch,
  mappingFor,
  prepareStaging,
  promote,
  promoteNotes,
} from '../core/postgres';
import {
  summarizeReport,
  verificationOutcome,
  verifyStaging as verifyStagingTables,
  writeReport,
} from '../core/verify';
import type { CollectionName } from '../core/source/records';
import type { VectorIndexType } from '../core/postgres/layouts/types';
import type { JobContext, SourceSummary, TargetContext, VerificationOutcome } from '../core/migration/types';
import { z } from 'zod';
import { classified } from './failures';
import { withHeartbeat } from './heartbeat';
import { indexBuildReports, promoteReports, verifyReports } from './stepReports';
import type { PoolRegistry } from './pools';
import { startStep } from './steps';
import { targetPlanOf } from './targetPlan';

export interface MigrationActivityDependencies {
  credentials: CredentialStore;
  pools: PoolRegistry;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

/** A range of consecutive batches of one collection: what one `loadBatchRange` activity loads. */
export interface BatchRangeInput {
  ctx: TargetContext;
  collection: string;
  planFile: string;
  batchIndex: number;
  batchCount: number;
}

/** What a `loadBatchRange` activity did: records read (loaded or rejected), rejects, batches by outcome. */
export interface BatchRangeResult {
  rows: number;
  rejected: number;
  loaded: number;
  alreadyLoaded: number;
}

/** Heartbeat details of a `loadBatchRange`: the next batch to load and the totals so far (read back on a retry). */
const BatchRangeProgressSchema = z.object({
  next: z.number().int().nonnegative(),
  step: z.string(),
  done: z.object({ rows: z.number(), rejected: z.number(), loaded: z.number(), alreadyLoaded: z.number() }),
});
type BatchRangeProgress = z.infer<typeof BatchRangeProgressSchema>;

export function createMigrationActivities(deps: MigrationActivityDependencies) {
  const now = deps.now ?? (() => new Date());
  return {
    /** Mirrors the workflow's state into `.migration_state.json` (atomic). */
    async recordState(input: {
      databasePath: string;
      state: Omit<MigrationState, 'updated_at' | 'target'>;
      target?: DatabaseTarget;
    }): Promise<void> {
      await writeState(input.databasePath, {
        ...input.state,
        ...(input.target ? { target: describeTarget(input.target) } : {}),
        updated_at: stateTimestamp(now()),
      });
    },

    /** Plans every collection (one streaming pass per file); plans go to files, counts come back. */
    async planSource(input: { job: JobContext; batchSize: number }): Promise<SourceSummary> {
      return classified(undefined, async () => {
        // Planning reads every file once: minutes for a store of tens of GB, so it heartbeats on a
        // timer like every long activity (one heartbeat at the start timed it out past 30 s, and
        // each retry planned everything again).
        const plan = await withHeartbeat(
          () => 'planning',
          () =>
            planDatabase(input.job.databasePath, input.job.jobId, {
              batchSize: input.batchSize,
              ...(deps.env ? { env: deps.env } : {}),
            }),
        );
        return {
          collections: plan.collections.map(({ collection, plan: p, planFile }) => ({
            collection,
            file: p.file,
            bytes: p.size,
            records: p.recordCount,
            batches: p.batches.length,
            planFile,
            ...(p.kind === 'vdb' ? { dimension: p.dim, dimensionSource: p.dimSource } : {}),
          })),
          absent: plan.absent,
          otherWorkspaces: plan.otherWorkspaces,
          ...(plan.unrecognized.length ? { unrecognized: plan.unrecognized } : {}),
          dimension: plan.dimension,
          dimensionSource: plan.dimensionSource,
          ...(plan.embeddingModel ? { embeddingModel: plan.embeddingModel } : {}),
        };
      });
    },

    /** Checks the target (pgvector, privileges) and creates this job's staging tables. */
    async prepareTarget(ctx: TargetContext & { batchSize?: number }): Promise<{ notes: string[] }> {
      return classified(ctx.job.target, async () => {
        const plan = targetPlanOf(ctx);
        const pool = await startStep(deps.pools, ctx.job, 'prepare');
        const checked = await checkTarget(pool, plan);
        await prepareStaging(pool, plan, ctx.batchSize !== undefined ? { batchSize: ctx.batchSize } : {});
        return { notes: [...plan.notes, ...checked.notes] };
      });
    },

    /**
     * Loads `batchCount` consecutive batches of a collection, one after another, each
     * read by its byte range and committed exactly once with its marker. Several batches per
     * activity spread Temporal's fixed cost per task (its events, the workflow tasks, the progress
     * signal) over more rows. A retry starts at the batch after the last one its heartbeat reported
     * committed; batches loaded before that are found by their markers and not loaded again.
     */
    async loadBatchRange(input: BatchRangeInput): Promise<BatchRangeResult> {
      return classified(input.ctx.job.target, async () => {
        const ctx = Context.current();
        const end = input.batchIndex + input.batchCount;
        const parsed = BatchRangeProgressSchema.safeParse(ctx.info.heartbeatDetails);
        const resumed =
          parsed.success && parsed.data.next > input.batchIndex && parsed.data.next <= end ? parsed.data : undefined;
        const done: BatchRangeResult = resumed?.done ?? { rows: 0, rejected: 0, loaded: 0, alreadyLoaded: 0 };
        let next = resumed?.next ?? input.batchIndex;
        let step = 'reading';
        const progress = (): BatchRangeProgress => ({ next, step, done });
        return withHeartbeat(progress, async () => {
          const sourcePlan = await loadPlan(input.planFile);
          const pool = await startStep(deps.pools, input.ctx.job, `load/${input.collection}/${input.batchIndex}`);
          const targetPlan = targetPlanOf(input.ctx);
          const { utf8Fields } = mappingFor(targetPlan, input.collection as CollectionName);
          for (; next < end;) {
            step = 'reading';
            // records are parsed as the COPY takes them (one record's objects alive at a time), and
            // the mapping's plain text fields are read as UTF-8 bytes, never decoded
            const batch = await openBatch(sourcePlan, next, utf8Fields ? { utf8Fields } : {});
            step = 'loading';
            const result = await loadBatch(pool, targetPlan, {
              collection: input.collection as CollectionName,
              batchIndex: next,
              records: batch.records as Iterable<AnyRecord>,
            });
            done.rows += batch.count;
            done.rejected += result.rejected.length;
            if (result.status === 'loaded') done.loaded += 1;
            else done.alreadyLoaded += 1;
            next += 1;
            ctx.heartbeat(progress());
          }
          return done;
        });
      });
    },

    /** Cross-collection steps in PostgreSQL (chunk join, endpoint nodes) and cross-batch duplicates. */
    async finishStaging(ctx: TargetContext): Promise<{ notes: string[] }> {
      return classified(ctx.job.target, async () => {
        const result = await withHeartbeat(
          () => 'finishing',
          async () => finishStaging(await startStep(deps.pools, ctx.job, 'finish'), targetPlanOf(ctx)),
        );
        const notes = result.duplicates.length
          ? [
              `${result.duplicates.length} records had an id that another record of the same collection also has; the last loaded was kept and each is listed in the report`,
            ]
          : [];
        for (const o of result.overLightragVarchar)
          notes.push(
            `${o.rows} value${o.rows === 1 ? '' : 's'} of ${o.table}.${o.column} ${o.rows === 1 ? 'is' : 'are'} longer than ${o.limit} characters: stored whole, but LightRAG started with an embedding model name copies unsuffixed vector tables into its own VARCHAR(${o.limit}) column and then refuses to start; migrate with --embedding-model <the model LightRAG uses> to write its model-suffixed tables directly`,
          );
        return { notes };
      });
    },

    /** Builds the indexes after the data (vector index with maintenance settings), reporting each one's progress. */
    async buildIndexes(ctx: TargetContext): Promise<void> {
      await classified(ctx.job.target, async () => {
        const plan = targetPlanOf(ctx);
        const step = await startStep(deps.pools, ctx.job, 'indexes');
        // the progress poller is not part of the step: a rerun's orphan sweep must not count it
        const reports = indexBuildReports(deps.pools.get(ctx.job.target), plan.stagingSchema);
        try {
          await withHeartbeat(
            () => reports.reporter.latest() ?? 'building indexes',
            () => buildIndexes(step, plan, reports.onDone, reports.onStart),
          );
        } finally {
          await reports.stop();
        }
      });
    },

    /**
     * Phase 3: counts, an order-independent checksum over exact bytes, a deterministic sample and
     * vector dimensions per collection, staging against the source files; the report is written
     * to <database>/.migration_reports/<job>.json.
     */
    async verifyStaging(input: TargetContext & { expected: SourceSummary }): Promise<VerificationOutcome> {
      return classified(input.job.target, async () => {
        const ctx = Context.current();
        const sources = await Promise.all(
          input.expected.collections.map(async (c) => ({
            collection: c.collection as CollectionName,
            plan: await loadPlan(c.planFile),
          })),
        );
        const reports = verifyReports(sources);
        const report = await withHeartbeat(
          () => reports.reporter.latest() ?? 'verifying',
          async () =>
            verifyStagingTables(await startStep(deps.pools, input.job, 'verify'), targetPlanOf(input), sources, {
              signal: ctx.cancellationSignal,
              onProgress: reports.onProgress,
            }),
        );
        await reports.reporter.flush();
        const reportFile = await writeReport(input.job.databasePath, input.job.jobId, report);
        const lines = summarizeReport(report);
        return {
          ...verificationOutcome(report),
          reportFile,
          summary: lines.filter((l) => l.startsWith('FAIL')),
          lines,
        };
      });
    },

    /** Promotes staging to production in one transaction, keeping the previous generation. */
    async promote(ctx: TargetContext): Promise<{ notes: string[]; vectorIndex: VectorIndexType }> {
      return classified(ctx.job.target, async () => {
        const plan = targetPlanOf(ctx);
        const reports = promoteReports(plan.layout.tables.map((t) => t.name));
        const result = await withHeartbeat(
          () => reports.reporter.latest() ?? 'promoting',
          async () => promote(await startStep(deps.pools, ctx.job, 'promote'), plan, { onTable: reports.onTable }),
        );
        await reports.reporter.flush();
        await removePlans(ctx.job.databasePath, ctx.job.jobId);
        return { vectorIndex: plan.vectorIndex, notes: promoteNotes(result) };
      });
    },

    /** Switches the registry entry to the PostgreSQL backend (no password), keeping a copy of the file. */
    async switchRegistry(input: {
      path: string;
      name: string;
      job: JobContext;
      stamp: string;
    }): Promise<{ copyPath: string }> {
      const { target, workspace } = input.job;
      const { copyPath } = await switchBackend(
        input.path,
        input.name,
        {
          backend_type: 'postgres',
          backend_config: {
            backend_type: 'postgres',
            postgres_host: target.host,
            postgres_port: target.port,
            postgres_user: target.user,
            postgres_database: target.database,
            postgres_workspace: workspace,
          },
        },
        input.stamp,
      );
      return { copyPath };
    },
  };
}

export type MigrationActivities = ReturnType<typeof createMigrationActivities>;
