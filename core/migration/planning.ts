import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { planGraphml } from '../source/graphml';
import { parsePlan, type CollectionPlan, type VdbPlan } from '../source/plan';
import { planKv, planVdb } from '../source/planner';
import { SourceError } from '../source/errors';
import { KV_COLLECTIONS, VECTOR_COLLECTIONS, type CollectionName } from '../source/records';
import { DEFAULT_DIM } from '../source/dimension';
import { GRAPH_FILE, KV_FILES, VECTOR_FILES } from './collections';

export const PLAN_DIR = '.migration_plans';

export interface PlannedCollection {
  collection: CollectionName;
  plan: CollectionPlan;
  planFile: string;
}

export interface SourcePlans {
  collections: { collection: CollectionName; plan: CollectionPlan }[];
  /** collections whose file is not in the folder */
  absent: CollectionName[];
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

/** Plans every collection present in a LightRAG working directory: one streaming pass per file, nothing written. */
export async function planCollections(databasePath: string, options: PlanDatabaseOptions): Promise<SourcePlans> {
  const plans: { collection: CollectionName; plan: CollectionPlan }[] = [];
  const absent: CollectionName[] = [];
  const opts = { batchSize: options.batchSize, ...(options.env ? { env: options.env } : {}) };
  for (const collection of KV_COLLECTIONS) {
    const file = path.join(databasePath, KV_FILES[collection]);
    if (existsSync(file)) plans.push({ collection, plan: await planKv(file, collection, opts) });
    else absent.push(collection);
  }
  for (const collection of VECTOR_COLLECTIONS) {
    const file = path.join(databasePath, VECTOR_FILES[collection]);
    if (existsSync(file)) plans.push({ collection, plan: await planVdb(file, collection, opts) });
    else absent.push(collection);
  }
  const graphFile = path.join(databasePath, GRAPH_FILE);
  if (existsSync(graphFile)) {
    const graph = await planGraphml(graphFile, opts);
    plans.push({ collection: 'graph_nodes', plan: graph.nodes }, { collection: 'graph_edges', plan: graph.edges });
  } else absent.push('graph_nodes', 'graph_edges');

  const vectorPlans = plans.map((p) => p.plan).filter((p): p is VdbPlan => p.kind === 'vdb');
  const dims = new Set(vectorPlans.map((p) => p.dim));
  if (dims.size > 1) {
    const list = vectorPlans.map((p) => `${path.basename(p.file)}: ${p.dim} (${p.dimSource})`).join(', ');
    throw new SourceError('DIMENSION_CONFLICT', `The vector files of ${databasePath} disagree on the embedding dimension (${list}); one LightRAG store has one embedding model — check which file is stale.`, { file: databasePath });
  }
  const first = vectorPlans[0];
  const model = vectorPlans.map((p) => p.additionalData?.lightrag_embedding_model).find((m): m is string => typeof m === 'string' && m.length > 0);

  return {
    collections: plans,
    absent,
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
export async function planDatabase(databasePath: string, jobId: string, options: PlanDatabaseOptions): Promise<DatabasePlan> {
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
    throw new SourceError('INVALID_PLAN', `The read plan ${planFile} is gone; run the migration again to plan the files anew.`, { file: planFile });
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
