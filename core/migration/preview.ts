import path from 'node:path';
import type pg from 'pg';
import { JOB_DEFAULTS } from '../config';
import type { AnyRecord } from '../postgres/layouts/types';
import { planTarget } from '../postgres/plan';
import { previewBatch } from '../postgres/preview';
import { previewPromote, type PromotePreview } from '../postgres/promotePreview';
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
  /** values the loader will fit (NUL removed, lone surrogate replaced, legacy cache key renamed) */
  fitted: { count: number; values: { collection: string; id: string; field: string; change: string }[] };
  /** values an unsuffixed vector table stores whole that LightRAG's own VARCHAR would not hold (see the run note) */
  overLightragVarchar: { id: string; column: string; limit: number }[];
  estimatedSeconds: number;
  estimate: PhaseEstimate;
  /** with `promoteTarget`: the promote as the target is now, or why that could not be read */
  promote?: PromotePreview | { error: string };
}

/**
 * What a migration of this folder would do, without writing anything anywhere: the plan, the
 * target tables, every record the loader will reject, every value it will fit, and the time each phase should take. A
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
  const fitted: MigrationPreview['fitted'] = { count: 0, values: [] };
  const overLightragVarchar: MigrationPreview['overLightragVarchar'] = [];
  for (const { collection, plan } of plans.collections) {
    for (let k = 0; k < plan.batches.length; k++) {
      const batch = previewBatch(targetPlan, collection, (await readBatch(plan, k)) as AnyRecord[]);
      rejected.count += batch.rejects.length;
      fitted.count += batch.fits.length;
      for (const r of batch.rejects)
        if (rejected.records.length < PREVIEW_LISTED_REJECTS) rejected.records.push({ collection, ...r });
      for (const f of batch.fits)
        if (fitted.values.length < PREVIEW_LISTED_REJECTS) fitted.values.push({ collection, ...f });
      for (const o of batch.overLightragVarchar)
        if (overLightragVarchar.length < PREVIEW_LISTED_REJECTS) overLightragVarchar.push(o);
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
    fitted,
    overLightragVarchar,
    estimatedSeconds: estimate.total + (promote && 'seconds' in promote ? promote.seconds : 0),
    estimate,
    ...(promote ? { promote } : {}),
  };
}
