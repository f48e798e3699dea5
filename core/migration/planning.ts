import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_DIM,
  discover,
  NotLightRagDirectoryError,
  parsePlan,
  planWorkspace,
  SourceError,
  type CollectionName,
  type CollectionPlan,
  type VdbPlan,
} from '../source';

export const PLAN_DIR = '.migration_plans';

export interface PlannedCollection {
  collection: CollectionName;
  plan: CollectionPlan;
  planFile: string;
}

export interface SourcePlans {
  collections: { collection: CollectionName; plan: CollectionPlan }[];
  /** workspaces in sub-folders, not part of this migration */
  otherWorkspaces: string[];
  /** collections whose file is not in the folder */
  absent: CollectionName[];
  /** data files (kv_store_*.json, vdb_*.json) of no collection LightRAG's PostgreSQL backends have: not migrated */
  unrecognized: string[];
  dimension: number;
  dimensionSource: string;
  embeddingModel?: string;
}

export interface PlanDatabaseOptions {
  batchSize: number;
  env?: NodeJS.ProcessEnv;
}

export interface DatabasePlan extends Omit<SourcePlans, 'collections'> {
  collections: PlannedCollection[];
}

/**
 * Plans every collection present in a LightRAG working directory: one streaming pass per file,
 * nothing written. Workspaces in sub-folders are separate migrations (each its own LightRAG
 * workspace): they are named in `otherWorkspaces`, never silently mixed into this one.
 */
export async function planCollections(databasePath: string, options: PlanDatabaseOptions): Promise<SourcePlans> {
  const { workspaces } = await discover(databasePath);
  const root = workspaces.find((w) => w.workspace === '');
  const otherWorkspaces = workspaces.filter((w) => w.workspace !== '').map((w) => w.workspace);
  if (!root) {
    throw new NotLightRagDirectoryError(
      `${databasePath} holds LightRAG workspaces in sub-folders (${otherWorkspaces.join(', ')}) but no data files itself; migrate each with --path ${path.join(databasePath, otherWorkspaces[0] ?? '')} --workspace ${otherWorkspaces[0] ?? ''}.`,
      databasePath,
    );
  }
  const opts = { batchSize: options.batchSize, ...(options.env ? { env: options.env } : {}) };
  const plans = (await planWorkspace(root, opts)).map((plan) => ({ collection: plan.collection, plan }));
  const absent = root.absent;
  const vectorPlans = plans.map((p) => p.plan).filter((p): p is VdbPlan => p.kind === 'vdb');
  const dims = new Set(vectorPlans.map((p) => p.dim));
  if (dims.size > 1) {
    const list = vectorPlans.map((p) => `${path.basename(p.file)}: ${p.dim} (${p.dimSource})`).join(', ');
    throw new SourceError(
      'DIMENSION_CONFLICT',
      `The vector files of ${databasePath} disagree on the embedding dimension (${list}); one LightRAG store has one embedding model — check which file is stale.`,
      { file: databasePath },
    );
  }
  const first = vectorPlans[0];
  const model = vectorPlans
    .map((p) => p.additionalData?.lightrag_embedding_model)
    .find((m): m is string => typeof m === 'string' && m.length > 0);

  return {
    collections: plans,
    absent,
    otherWorkspaces,
    unrecognized: root.unrecognized,
    dimension: first?.dim ?? DEFAULT_DIM,
    dimensionSource: first ? first.dimSource : 'default',
    ...(model ? { embeddingModel: model } : {}),
  };
}

/**
 * Plans the folder and writes each read plan to `<db>/.migration_plans/<job>/<collection>.json`,
 * where any worker that reads the source finds it: batch activities carry the plan's path, never
 * the plan.
 */
export async function planDatabase(
  databasePath: string,
  jobId: string,
  options: PlanDatabaseOptions,
): Promise<DatabasePlan> {
  const planned = await planCollections(databasePath, options);
  const dir = path.join(databasePath, PLAN_DIR, jobId);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const collections: PlannedCollection[] = [];
  for (const { collection, plan } of planned.collections) {
    const planFile = path.join(dir, `${collection}.json`);
    const temp = `${planFile}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(temp, JSON.stringify(plan), { mode: 0o600 });
    await fs.rename(temp, planFile);
    collections.push({ collection, plan, planFile });
  }
  return { ...planned, collections };
}

const cache = new Map<string, { mtimeMs: number; plan: CollectionPlan }>();

/** Reads a plan file back (validated), cached per worker while the file is unchanged. */
export async function loadPlan(planFile: string): Promise<CollectionPlan> {
  const stat = await fs.stat(planFile).catch(() => {
    throw new SourceError(
      'INVALID_PLAN',
      `The read plan ${planFile} is gone; run the migration again to plan the files anew.`,
      { file: planFile },
    );
  });
  const hit = cache.get(planFile);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.plan;
  const plan = parsePlan(await fs.readFile(planFile, 'utf8'));
  if (cache.size > 64) cache.clear();
  cache.set(planFile, { mtimeMs: stat.mtimeMs, plan });
  return plan;
}

export async function removePlans(databasePath: string, jobId: string): Promise<void> {
  await fs.rm(path.join(databasePath, PLAN_DIR, jobId), { recursive: true, force: true });
  await fs.rmdir(path.join(databasePath, PLAN_DIR)).catch(() => undefined);
}
