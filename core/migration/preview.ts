import path from 'node:path';
import type pg from 'pg';
import { JOB_DEFAULTS } from '../config';
import type { AnyRecord } from '../postgres/layouts/types';
import { planTarget } from '../postgres/plan';
import { previewPromote, type PromotePreview } from '../postgres/promotePreview';
import { batchRejects } from '../postgres/preview';
import { readBatch } from '../source';
import { estimatePhases, type PhaseEstimate } from './estimate';
import { planCollections } from './planning';
import type { JobContext } from './types';

/** Rejected records a preview lists (the count is always exact). */
export const PREVIEW_LISTED_REJECTS = 1000;

export interface PreviewOptions {
  workspace?: string | undefined;
  layout?: JobContext['layout'] | undefined;
  embeddingModel?: string | undefined;
  highDimensionIndex?: 'none' | 'halfvec' | undefined;
  batchSize?: number | undefined;
  staged: boolean;
  verify: boolean;
  /** the target, read only: how the promote would work there (attach, swap or rows) and how long it takes */
  promoteTarget?: pg.Pool | undefined;
}

export interface MigrationPreview {
  workspace: string;
  layout: JobContext['layout'];
  dimension: number;
  dimensionSource: string;
  collections: {
    collection: string;
    file: string;
    records: number;
    bytes: number;
    batches: number;
    dimension: number | null;
    dimensionSource: string | null;
    table: string | null;
  }[];
  absent: string[];
  otherWorkspaces: string[];
  unrecognized: string[];
  rejected: { count: number; records: { collection: string; id: string; reason: string }[] };
  estimatedSeconds: number;
  estimate: PhaseEstimate;
  /** with `promoteTarget`: the promote as the target is now, or why that could not be read */
  promote?: PromotePreview | { error: string };
}

/**
 * What a migration of this folder would do, without writing anything anywhere: the plan, the
 * target tables, every record the loader will reject, and the time each phase should take. A
 * preview that only planned would miss what a batch read finds (bad per-record vectors, bad
 * escapes) and what the loader rejects: every batch is read and encoded, one at a time (memory
 * bounded), into a scratch buffer. Throws SourceError for a source that cannot be read.
 */
export async function previewMigration(folder: string, options: PreviewOptions): Promise<MigrationPreview> {
  const workspace = options.workspace ?? JOB_DEFAULTS.workspace;
  const layoutName = options.layout ?? JOB_DEFAULTS.layout;
  const plans = await planCollections(folder, { batchSize: options.batchSize ?? JOB_DEFAULTS.batchSize });
  const model = options.embeddingModel ?? plans.embeddingModel;
  const targetPlan = planTarget({
    migrationId: 'dry-run',
    workspace,
    layout: layoutName,
    dimension: plans.dimension,
    highDimensionIndex: options.highDimensionIndex ?? JOB_DEFAULTS.highDimensionIndex,
    ...(model ? { embeddingModel: model } : {}),
  });
  const rejected: MigrationPreview['rejected'] = { count: 0, records: [] };
  for (const { collection, plan } of plans.collections) {
    for (let k = 0; k < plan.batches.length; k++) {
      for (const r of batchRejects(targetPlan, collection, (await readBatch(plan, k)) as AnyRecord[])) {
        rejected.count += 1;
        if (rejected.records.length < PREVIEW_LISTED_REJECTS) rejected.records.push({ collection, ...r });
      }
    }
  }
  const estimate = estimatePhases({
    bytes: plans.collections.reduce((n, { plan }) => n + plan.size, 0),
    rows: plans.collections.reduce((n, { plan }) => n + plan.recordCount, 0),
    vectors: plans.collections.flatMap(({ plan }) =>
      plan.kind === 'vdb' ? [{ count: plan.recordCount, dim: plan.dim }] : [],
    ),
    vectorIndex: targetPlan.vectorIndex !== 'none',
    staged: options.staged,
    verify: options.verify,
  });
  let promote: MigrationPreview['promote'];
  if (options.promoteTarget) {
    const rows = new Map<string, number>();
    for (const { collection, plan } of plans.collections) {
      const table = targetPlan.layout.collections[collection]?.table;
      if (table) rows.set(table, (rows.get(table) ?? 0) + plan.recordCount);
    }
    promote = await previewPromote(options.promoteTarget, targetPlan, rows).catch((error: Error) => ({
      error: error.message,
    }));
  }
  return {
    workspace,
    layout: layoutName,
    dimension: plans.dimension,
    dimensionSource: plans.dimensionSource,
    collections: plans.collections.map(({ collection, plan }) => ({
      collection,
      file: path.basename(plan.file),
      records: plan.recordCount,
      bytes: plan.size,
      batches: plan.batches.length,
      dimension: plan.kind === 'vdb' ? plan.dim : null,
      dimensionSource: plan.kind === 'vdb' ? plan.dimSource : null,
      table: targetPlan.layout.collections[collection]?.table ?? null,
    })),
    absent: plans.absent,
    otherWorkspaces: plans.otherWorkspaces,
    unrecognized: plans.unrecognized,
    rejected,
    estimatedSeconds: estimate.total + (promote && 'seconds' in promote ? promote.seconds : 0),
    estimate,
    ...(promote ? { promote } : {}),
  };
}
