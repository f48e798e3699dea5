import type { CollectionName, GraphEdge, GraphNode, KvRecord, VectorRecord } from '../../source/records';
import type { CopyType } from '../copy/binaryEncoder';
import type { FitNote } from '../fit';

export type AnyRecord = KvRecord | VectorRecord | GraphNode | GraphEdge;
export type LayoutName = 'lightrag' | 'hybridrag';
export type VectorIndexType = 'hnsw' | 'hnsw_halfvec' | 'ivfflat' | 'none';

export interface ColumnSpec {
  name: string;
  /** SQL type as in the production DDL, e.g. `VARCHAR(255)`, `VECTOR(1536)` */
  sqlType: string;
  /** NOT NULL / DEFAULT … as in the production DDL */
  extra?: string;
  /** set when the loader writes this column with COPY (in the order of TableSpec.copyColumns) */
  copyType?: CopyType;
}

export interface IndexSpec {
  name: string;
  /** `CREATE INDEX <name> ON <table> …` body after the table: e.g. `(workspace, id)` or `USING hnsw (…) WITH (…)` */
  using: string;
  /** a vector index (built with the maintenance settings, after the data) */
  vector?: boolean;
}

export interface ForeignKeySpec {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete?: string;
}

export interface TableSpec {
  /** production table name (exact, as stored in pg_class) */
  name: string;
  columns: ColumnSpec[];
  /** the columns the COPY writes, in order (every column except `workspace` and pure defaults) */
  copyColumns: string[];
  primaryKey: string[];
  /** primary-key constraint name (as LightRAG's DDL names it, lower case, ≤63 bytes) */
  primaryKeyName: string;
  indexes: IndexSpec[];
  foreignKeys?: ForeignKeySpec[];
  /** vector column and how it is stored in production */
  vector?: { column: string; dimension: number; storage: 'vector' | 'halfvec' };
  /** key columns within one workspace (duplicates are detected over these) */
  identity: string[];
  /**
   * Unsuffixed LightRAG vector tables: the VARCHAR sizes of LightRAG's own DDL for columns that are
   * TEXT here. LightRAG started with an embedding model name copies these tables into model-suffixed
   * tables of its own DDL and refuses to start on a longer value, so finishStaging names such values.
   */
  lightragVarchar?: Record<string, number>;
  /** promote groups: tables of one group move together in one mode (FK-linked graph tables) */
  group?: string;
}

/** A mapped row (values in TableSpec.copyColumns order), or why the record cannot be loaded. */
export type MapResult =
  | { ok: true; id: string; dedupeKey: string; row: unknown[]; fits?: FitNote[] }
  | { ok: false; id: string; reason: string };

export interface CollectionMapping {
  collection: CollectionName;
  table: string;
  /**
   * Record fields (of a key-value value, or of a vector record's fields) that `map` passes to a text
   * column as they are: the loader reads their long values as `Utf8Text` (UTF-8 bytes, never decoded).
   */
  utf8Fields?: readonly string[];
  map(record: AnyRecord, now: number): MapResult;
}

export interface LayoutPlan {
  layout: LayoutName;
  tables: TableSpec[];
  collections: Partial<Record<CollectionName, CollectionMapping>>;
  /** SQL run after all collections are staged (cross-collection joins, endpoint nodes); `{s:<table>}` = staging table */
  finishSteps: FinishStep[];
  notes: string[];
}

export interface FinishStep {
  name: string;
  /** tables whose staging names are substituted into the SQL in this order as $T0, $T1 … */
  tables: string[];
  sql: string;
}
