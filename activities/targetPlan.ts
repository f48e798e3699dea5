import { planTarget, type TargetPlan } from '../core/postgres';
import type { TargetContext } from '../core/migration/types';

/** The target plan of a job: pure and deterministic, so every activity rebuilds it instead of carrying it. */
export function targetPlanOf(ctx: TargetContext): TargetPlan {
  const { job } = ctx;
  return planTarget({
    migrationId: job.jobId,
    workspace: job.workspace,
    layout: job.layout,
    dimension: ctx.dimension,
    ...(ctx.embeddingModel ? { embeddingModel: ctx.embeddingModel } : {}),
    ...(job.vectorIndex ? { vectorIndex: job.vectorIndex } : {}),
    ...(job.highDimensionIndex ? { highDimensionIndex: job.highDimensionIndex } : {}),
  });
}
