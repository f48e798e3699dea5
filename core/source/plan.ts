/**
 * Read plans: what the planning pass learned about one collection's file, small and plain JSON so
 * that it travels in Temporal payloads. Batches hold start offsets only (never one per record).
 * `parsePlan` validates a plan read back from JSON (zod) before any batch read trusts it.
 */
import { z } from 'zod';
import { InvalidPlanError } from './errors';
import { GRAPH_COLLECTIONS, KV_COLLECTIONS, VECTOR_COLLECTIONS } from './records';

export const PLAN_VERSION = 1 as const;

const nonNegInt = z.number().int().nonnegative();

export const BatchPlanSchema = z.object({
  index: nonNegInt,
  startOffset: nonNegInt,
  endOffset: nonNegInt,
  firstRecord: nonNegInt,
  recordCount: nonNegInt,
  /** nested legacy LLM cache only: the mode whose entries the batch starts in */
  group: z.string().optional(),
});
export type BatchPlan = z.infer<typeof BatchPlanSchema>;

const base = {
  version: z.literal(PLAN_VERSION),
  file: z.string().min(1),
  size: nonNegInt,
  mtimeMs: z.number().nonnegative(),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  recordCount: nonNegInt,
  batchSize: z.number().int().positive(),
  /** batches also end once they span this many bytes of the file (null: no byte limit) */
  maxBatchBytes: z.number().int().positive().nullable(),
  batches: z.array(BatchPlanSchema),
};

export const KvPlanSchema = z.object({
  ...base,
  kind: z.literal('kv'),
  collection: z.enum(KV_COLLECTIONS),
  /** LLM cache: 'flat' (mode:type:hash or other keys, one record per top-level key) or 'nested' */
  cacheForm: z.enum(['flat', 'nested']).optional(),
  /** nested LLM cache: the top-level keys (modes) whose entries are flattened */
  nestedGroups: z.array(z.string()).optional(),
});
export type KvPlan = z.infer<typeof KvPlanSchema>;

export const DIM_SOURCES = ['embedding_dim', 'matrix', 'vector', 'default', 'env'] as const;
export type DimSource = (typeof DIM_SOURCES)[number];

export const VdbPlanSchema = z.object({
  ...base,
  kind: z.literal('vdb'),
  collection: z.enum(VECTOR_COLLECTIONS),
  dim: z.number().int().positive(),
  dimSource: z.enum(DIM_SOURCES),
  /** the `embedding_dim` key as written, or null when absent */
  embeddingDimKey: z.number().int().nullable(),
  /** byte offset of the first base64 character of `matrix` (after the opening quote); -1 if absent */
  matrixOffset: z.number().int().min(-1),
  /** number of base64 characters in `matrix` */
  matrixLength: nonNegInt,
  vectorSource: z.enum(['matrix', 'record']),
  /** `additional_data` of the newest LightRAG (e.g. lightrag_embedding_model), if present and small */
  additionalData: z.record(z.string(), z.unknown()).nullable(),
});
export type VdbPlan = z.infer<typeof VdbPlanSchema>;

export const GraphKeySchema = z.object({
  id: z.string(),
  for: z.string(),
  name: z.string(),
  type: z.enum(['string', 'int', 'long', 'float', 'double', 'boolean']),
  default: z.string().optional(),
});
export type GraphKey = z.infer<typeof GraphKeySchema>;

export const GraphPlanSchema = z.object({
  ...base,
  kind: z.literal('graph'),
  collection: z.enum(GRAPH_COLLECTIONS),
  keys: z.array(GraphKeySchema),
});
export type GraphPlan = z.infer<typeof GraphPlanSchema>;

export const CollectionPlanSchema = z.discriminatedUnion('kind', [KvPlanSchema, VdbPlanSchema, GraphPlanSchema]);
export type CollectionPlan = KvPlan | VdbPlan | GraphPlan;

/** Validates a plan that came back from JSON (e.g. a Temporal payload). */
export function parsePlan(value: unknown): CollectionPlan {
  const parsed = CollectionPlanSchema.safeParse(typeof value === 'string' ? safeJson(value) : value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown problem';
    throw new InvalidPlanError(`The read plan is not valid (${at}); plan the collection again.`);
  }
  const plan = parsed.data;
  let expected = 0;
  for (const [i, b] of plan.batches.entries()) {
    if (b.index !== i || b.firstRecord !== expected || b.endOffset < b.startOffset || b.endOffset > plan.size) {
      throw new InvalidPlanError(
        `The read plan of ${plan.file} has an inconsistent batch ${i}; plan the collection again.`,
      );
    }
    expected += b.recordCount;
  }
  if (expected !== plan.recordCount) {
    throw new InvalidPlanError(
      `The read plan of ${plan.file} counts ${plan.recordCount} records but its batches hold ${expected}; plan the collection again.`,
    );
  }
  return plan;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidPlanError('The read plan is not valid JSON; plan the collection again.');
  }
}

/**
 * Keeps batch bookkeeping during a planning scan: a batch opens at every `batchSize`-th record
 * start and closes at the end of its last record.
 */
export class BatchBuilder {
  readonly batches: BatchPlan[] = [];
  count = 0;
  private lastEnd = 0;
  private open: BatchPlan | undefined;
  /** bytes read per record outside the record's slice (a vdb matrix row's base64) */
  extraBytesPerRecord = 0;
  /**
   * @param batchSize at most this many records per batch
   * @param maxBatchBytes also start a new batch once a batch spans this many bytes, so that memory
   *   per batch stays bounded when records are large (e.g. 20 KB chunks with text and vectors)
   */
  constructor(
    readonly batchSize: number,
    readonly maxBatchBytes = Number.POSITIVE_INFINITY,
  ) {}

  begin(start: number, group?: string): number {
    if (
      !this.open ||
      this.open.recordCount >= this.batchSize ||
      start - this.open.startOffset + this.open.recordCount * this.extraBytesPerRecord >= this.maxBatchBytes
    ) {
      this.close();
      this.open = {
        index: this.batches.length,
        startOffset: start,
        endOffset: start,
        firstRecord: this.count,
        recordCount: 0,
      };
      if (group !== undefined) this.open.group = group;
    }
    this.open.recordCount++;
    return this.count++;
  }

  end(endOffset: number): void {
    this.lastEnd = endOffset;
  }

  close(): void {
    if (this.open) {
      this.open.endOffset = this.lastEnd;
      this.batches.push(this.open);
      this.open = undefined;
    }
  }
}
