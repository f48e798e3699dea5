import type { DatabaseTarget } from '../connection';
import type { MigrationPhase } from '../state/stateFile';

/**
 * How long a long activity may go without a heartbeat before Temporal retries it elsewhere, unless
 * a migration says otherwise (activities heartbeat every 5 s, or a third of the timeout when shorter).
 */
export const DEFAULT_HEARTBEAT_TIMEOUT = '30 seconds';

/** Everything a migration job's activities need to find the source and the target. Plain data, no secret. */
export interface JobContext {
  jobId: string;
  databaseName: string;
  databasePath: string;
  target: DatabaseTarget;
  workspace: string;
  layout: 'lightrag' | 'hybridrag';
  embeddingModel?: string;
  vectorIndex?: 'hnsw' | 'hnsw_halfvec' | 'ivfflat' | 'none';
  highDimensionIndex?: 'none' | 'halfvec';
}

/** One source collection as planned: counts and where its read plan is, never its rows. */
export interface CollectionSummary {
  collection: string;
  file: string;
  bytes: number;
  records: number;
  batches: number;
  planFile: string;
  dimension?: number;
  dimensionSource?: string;
}

export interface SourceSummary {
  collections: CollectionSummary[];
  absent: string[];
  /** LightRAG workspaces in sub-folders: separate migrations, not part of this one */
  otherWorkspaces?: string[];
  /** data files of no collection LightRAG's PostgreSQL backends have (e.g. kv_store_parse_cache.json): not migrated */
  unrecognized?: string[];
  dimension: number;
  dimensionSource: string;
  embeddingModel?: string;
}

export interface CollectionProgress {
  collection: string;
  records: number;
  batches: number;
  batchesDone: number;
  rowsDone: number;
  rejected: number;
  state: 'waiting' | 'loading' | 'done' | 'cancelled';
}

export interface MigrationProgress {
  jobId: string;
  phase: MigrationPhase;
  /** what the job is doing now, e.g. "Phase 2/4: staging vdb_entities" */
  step: string;
  paused: boolean;
  /** paused, but load activities that had started before the pause are still finishing */
  pausing: boolean;
  cancelRequested: boolean;
  collections: CollectionProgress[];
  rowsDone: number;
  rowsTotal: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
  backupId: string | null;
  errors: string[];
}

/** What the verification of the staged rows found, as the workflow and the CLI see it (no row data). */
export interface VerificationOutcome {
  passed: boolean;
  reportFile: string;
  /** the FAIL lines */
  summary: string[];
  /** one line per collection */
  lines: string[];
  /** values stored fitted (NUL removed, lone surrogate replaced, cache key renamed, …), and in how many records */
  fittedValues: number;
  fittedRecords: number;
  /** records that became no row (NaN / ±Inf vectors, duplicate ids, unreadable values), and the first of them */
  leftOut: number;
  leftOutRecords: { collection: string; id: string; reason: string }[];
}

/** The job plus what planning learned that decides the target tables. */
export interface TargetContext {
  job: JobContext;
  dimension: number;
  embeddingModel?: string;
}
