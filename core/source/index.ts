/**
 * The source side: discover a LightRAG working directory, plan each collection (one streaming
 * pass per file), then read any batch directly. Temporal-free.
 *
 *   const { workspaces } = await discover(dir);
 *   const plans = await planWorkspace(workspaces[0]);           // plain JSON, fits a payload
 *   const records = await readBatch(parsePlan(plans[0]), 3);    // seeks straight to batch 3
 */
import type { DiscoveredWorkspace } from './discover';
import { openGraphBatch, planGraphml, readGraphBatch } from './graphml';
import { openKvBatch, readKvBatch } from './kvReader';
import type { CollectionPlan, GraphPlan, KvPlan, VdbPlan } from './plan';
import { planKv, planVdb, type PlanOptions } from './planner';
import {
  GRAPH_COLLECTIONS,
  KV_COLLECTIONS,
  VECTOR_COLLECTIONS,
  type CollectionName,
  type GraphEdge,
  type GraphNode,
  type KvCollection,
  type KvRecord,
  type VectorCollection,
  type VectorRecord,
} from './records';
import { openVectorBatch, readVectorBatch, type LazyBatch, type OpenBatchOptions } from './vdbReader';

export * from './errors';
export * from './records';
export {
  discover,
  collectionFile,
  ALL_COLLECTIONS,
  GRAPH_FILE,
  type Discovery,
  type DiscoveredWorkspace,
  type PresentCollection,
} from './discover';
export {
  parsePlan,
  type CollectionPlan,
  type KvPlan,
  type VdbPlan,
  type GraphPlan,
  type BatchPlan,
  type GraphKey,
  type DimSource,
} from './plan';
export { planKv, planVdb, DEFAULT_BATCH_SIZE, type PlanOptions } from './planner';
export { planGraphml, openGraphBatch, readGraphBatch, readGraphNodeBatch, readGraphEdgeBatch } from './graphml';
export { openKvBatch, readKvBatch, flatCacheKey } from './kvReader';
export { openVectorBatch, readVectorBatch, type LazyBatch, type OpenBatchOptions } from './vdbReader';
export { detectDimension, DEFAULT_DIM } from './dimension';

const isKv = (c: CollectionName): c is KvCollection => (KV_COLLECTIONS as readonly string[]).includes(c);
const isVector = (c: CollectionName): c is VectorCollection => (VECTOR_COLLECTIONS as readonly string[]).includes(c);

/** Plans one collection whose file is `file`. */
export async function planCollection(
  file: string,
  collection: CollectionName,
  opts: PlanOptions = {},
): Promise<CollectionPlan> {
  if (isKv(collection)) return planKv(file, collection, opts);
  if (isVector(collection)) return planVdb(file, collection, opts);
  const plans = await planGraphml(file, opts);
  return collection === 'graph_nodes' ? plans.nodes : plans.edges;
}

/** Plans every present collection of a discovered workspace (the GraphML is read once). */
export async function planWorkspace(ws: DiscoveredWorkspace, opts: PlanOptions = {}): Promise<CollectionPlan[]> {
  const out: CollectionPlan[] = [];
  for (const p of ws.present) {
    if ((GRAPH_COLLECTIONS as readonly string[]).includes(p.collection)) continue;
    out.push(await planCollection(p.file, p.collection, opts));
  }
  const graph = ws.present.find((p) => p.collection === 'graph_nodes');
  if (graph) {
    const g = await planGraphml(graph.file, opts);
    out.push(g.nodes, g.edges);
  }
  return out;
}

export function readBatch(plan: KvPlan, batchIndex: number): Promise<KvRecord[]>;
export function readBatch(plan: VdbPlan, batchIndex: number): Promise<VectorRecord[]>;
export function readBatch(plan: GraphPlan, batchIndex: number): Promise<GraphNode[] | GraphEdge[]>;
export function readBatch(
  plan: CollectionPlan,
  batchIndex: number,
): Promise<KvRecord[] | VectorRecord[] | GraphNode[] | GraphEdge[]>;
export function readBatch(
  plan: CollectionPlan,
  batchIndex: number,
): Promise<KvRecord[] | VectorRecord[] | GraphNode[] | GraphEdge[]> {
  switch (plan.kind) {
    case 'kv':
      return readKvBatch(plan, batchIndex);
    case 'vdb':
      return readVectorBatch(plan, batchIndex);
    case 'graph':
      return readGraphBatch(plan, batchIndex);
  }
}

/**
 * A batch whose records are parsed as they are iterated: for consumers that take each record once
 * and drop it, like the loader.
 * `utf8Fields` names the record fields whose long strings may come as `Utf8Text`.
 */
export async function openBatch(
  plan: CollectionPlan,
  batchIndex: number,
  options: OpenBatchOptions = {},
): Promise<LazyBatch<KvRecord | VectorRecord | GraphNode | GraphEdge>> {
  switch (plan.kind) {
    case 'kv':
      return openKvBatch(plan, batchIndex, options);
    case 'vdb':
      return openVectorBatch(plan, batchIndex, options);
    case 'graph':
      return openGraphBatch(plan, batchIndex);
  }
}

/** Reads every record of a planned collection, batch by batch (memory bounded by the batch size). */
export async function* readAll(plan: CollectionPlan): AsyncGenerator<KvRecord | VectorRecord | GraphNode | GraphEdge> {
  for (let k = 0; k < plan.batches.length; k++) yield* await readBatch(plan, k);
}
