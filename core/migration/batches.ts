import { readGraphBatch } from '../source/graphml';
import { readKvBatch } from '../source/kvReader';
import type { CollectionPlan } from '../source/plan';
import type { GraphEdge, GraphNode, KvRecord, VectorRecord } from '../source/records';
import { readVectorBatch } from '../source/vdbReader';

/** Reads batch `index` of any collection: it seeks straight to the batch's byte range. */
export async function readBatch(plan: CollectionPlan, index: number): Promise<KvRecord[] | VectorRecord[] | GraphNode[] | GraphEdge[]> {
  switch (plan.kind) {
    case 'kv':
      return readKvBatch(plan, index);
    case 'vdb':
      return readVectorBatch(plan, index);
    case 'graph':
      return readGraphBatch(plan, index);
  }
}
