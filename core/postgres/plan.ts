import type { CollectionName } from '../source/records';
import { TargetError } from './errors';
import { qualify, quoteIdent, scopeTag, validateWorkspace } from './identifiers';
import { hybridragLayout } from './layouts/hybridrag';
import { lightragLayout } from './layouts/lightrag';
import type { CollectionMapping, LayoutName, LayoutPlan, TableSpec, VectorIndexType } from './layouts/types';

/** Everything that decides where and how one migration writes. Plain data: safe in workflow history. */
export interface TargetOptions {
  /** stable id of the migration job (scopes its staging and previous-generation schemas) */
  migrationId: string;
  /** LightRAG workspace of the rows (LightRAG's rule: `default` for a root working dir) */
  workspace: string;
  layout?: LayoutName;
  /** embedding dimension of the vector collections */
  dimension: number;
  /** embedding model: vector tables get LightRAG's model suffix `_<model>_<dim>d` (layout lightrag) */
  embeddingModel?: string;
  /** vector index: LightRAG's HNSW cosine by default */
  vectorIndex?: VectorIndexType;
  /** what to do beyond 2000 dimensions, where pgvector cannot index `vector`: no index (exact floats kept) or halfvec */
  highDimensionIndex?: 'none' | 'halfvec';
  hnswM?: number;
  hnswEfConstruction?: number;
  ivfflatLists?: number;
  /** schema of the production tables (LightRAG uses the role's search_path, normally public) */
  targetSchema?: string;
  /** maintenance_work_mem for index builds, e.g. '512MB' (an HNSW build gets more when its graph needs it, up to maintenanceWorkMemMax) */
  maintenanceWorkMem?: string;
  /** the most maintenance_work_mem an HNSW build is given so that its graph stays in memory, e.g. '4GB' */
  maintenanceWorkMemMax?: string;
  /** max_parallel_maintenance_workers for index builds */
  parallelWorkers?: number;
}

export interface TargetPlan {
  options: Required<Omit<TargetOptions, 'embeddingModel'>> & { embeddingModel?: string };
  layout: LayoutPlan;
  /** per-migration schema holding the `<table>_staging` tables and the batch markers */
  stagingSchema: string;
  /** per-migration schema holding the previous generation of the production rows */
  generationSchema: string;
  targetSchema: string;
  vectorIndex: VectorIndexType;
  notes: string[];
}

export const PGVECTOR_MAX_VECTOR_INDEX_DIMS = 2000;
export const PGVECTOR_MAX_HALFVEC_INDEX_DIMS = 4000;

/** Resolves the options into the full plan (tables, names, index type). Pure and deterministic. */
export function planTarget(input: TargetOptions): TargetPlan {
  if (!input.migrationId)
    throw new TargetError('The migration id is empty; every migration needs one to scope its staging tables.');
  validateWorkspace(input.workspace);
  if (!Number.isInteger(input.dimension) || input.dimension < 1 || input.dimension > 16000) {
    throw new TargetError(
      `The embedding dimension ${input.dimension} is not between 1 and 16000 (pgvector's limit); check the vector files.`,
    );
  }
  const options = {
    layout: 'lightrag' as LayoutName,
    vectorIndex: 'hnsw' as VectorIndexType,
    highDimensionIndex: 'none' as const,
    hnswM: 16,
    hnswEfConstruction: 64,
    ivfflatLists: 100,
    targetSchema: 'public',
    maintenanceWorkMem: '512MB',
    maintenanceWorkMemMax: '4GB',
    parallelWorkers: 1,
    ...input,
  };
  quoteIdent(options.targetSchema);
  const notes: string[] = [];
  let vectorIndex = options.vectorIndex;
  const d = options.dimension;
  if ((vectorIndex === 'hnsw' || vectorIndex === 'ivfflat') && d > PGVECTOR_MAX_VECTOR_INDEX_DIMS) {
    if (options.highDimensionIndex === 'halfvec' && d <= PGVECTOR_MAX_HALFVEC_INDEX_DIMS) {
      vectorIndex = 'hnsw_halfvec';
      notes.push(
        `pgvector indexes at most ${PGVECTOR_MAX_VECTOR_INDEX_DIMS} dimensions of vector; ${d}-dimension vectors are stored as halfvec with an HNSW halfvec index (run LightRAG with POSTGRES_VECTOR_INDEX_TYPE=HNSW_HALFVEC).`,
      );
    } else {
      vectorIndex = 'none';
      notes.push(
        `pgvector indexes at most ${PGVECTOR_MAX_VECTOR_INDEX_DIMS} dimensions of vector; ${d}-dimension vectors are kept exact without a vector index (queries scan; --high-dimension-index halfvec stores them as halfvec with an index).`,
      );
    }
  }
  if (vectorIndex === 'hnsw_halfvec' && d > PGVECTOR_MAX_HALFVEC_INDEX_DIMS) {
    vectorIndex = 'none';
    notes.push(
      `pgvector indexes at most ${PGVECTOR_MAX_HALFVEC_INDEX_DIMS} dimensions of halfvec; no vector index is built.`,
    );
  }
  const layoutOpts = {
    dimension: d,
    vectorIndex,
    hnswM: options.hnswM,
    hnswEfConstruction: options.hnswEfConstruction,
    ivfflatLists: options.ivfflatLists,
  };
  const layout =
    options.layout === 'hybridrag'
      ? hybridragLayout(layoutOpts)
      : lightragLayout({
          ...layoutOpts,
          ...(options.embeddingModel ? { embeddingModel: options.embeddingModel } : {}),
        });
  const tag = scopeTag(options.migrationId);
  return {
    options,
    layout,
    stagingSchema: `hybridrag_stage_${tag}`,
    generationSchema: `hybridrag_prev_${tag}`,
    targetSchema: options.targetSchema,
    vectorIndex,
    notes: [...notes, ...layout.notes],
  };
}

export const stagingTableName = (table: string): string => `${table}_staging`;

export function tableSpec(plan: TargetPlan, name: string): TableSpec {
  const spec = plan.layout.tables.find((t) => t.name === name);
  if (!spec) throw new TargetError(`The layout ${plan.layout.layout} has no table ${name}.`);
  return spec;
}

export function mappingFor(plan: TargetPlan, collection: CollectionName): CollectionMapping {
  const m = plan.layout.collections[collection];
  if (!m) throw new TargetError(`The layout ${plan.layout.layout} does not map the collection ${collection}.`);
  return m;
}

export const stagingTable = (plan: TargetPlan, table: string): string =>
  qualify(plan.stagingSchema, stagingTableName(table));
export const productionTable = (plan: TargetPlan, table: string): string => qualify(plan.targetSchema, table);
export const markerTable = (plan: TargetPlan): string => qualify(plan.stagingSchema, '_batches');
export const rejectTable = (plan: TargetPlan): string => qualify(plan.stagingSchema, '_rejects');
