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
  /** staging rate; 0 until measurable */
  rowsPerSecond: number;
  /** staging time left */
  etaSeconds: number | null;
  backupId: string | null;
  errors: string[];
  /** the long step running now (backup, index build, verification, promote), as its activity last reported */
  stepProgress: StepProgress | null;
  /** a step started ahead of its phase and running with this one (the verification, during the index build) */
  alongside: StepProgress | null;
  phases: PhaseTiming[];
  /** the whole job: time since it started, and the time left (estimated, refined by the rates of this run) */
  elapsedSeconds: number;
  jobEtaSeconds: number | null;
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

/** The signal a long activity sends its own workflow with its progress (activities do not import workflows/). */
export const STEP_PROGRESS_SIGNAL = 'stepProgress';

/** Which long step an activity's progress belongs to. */
export type StepKind = 'backup' | 'indexes' | 'verify' | 'promote';

/** One part of a long step: a file, an index, a table. */
export interface StepPart {
  name: string;
  /** in words: "building index: loading tuples", "done in 12s", "swapped in whole", "rows copied" */
  state: string;
  done: number;
  total: number;
}

/** How far a long step (backup, index build, verification, promote) is, from the best source it has. */
export interface StepProgress {
  kind: StepKind;
  /** what runs now, e.g. "lightrag_vdb_entity_hnsw_cosine: building index: loading tuples" */
  detail: string;
  done: number;
  total: number;
  unit: 'bytes' | 'tuples' | 'blocks' | 'batches' | 'tables';
  /** units per second, measured by the activity; null until measurable */
  perSecond: number | null;
  parts: StepPart[];
}

/** When a phase of the job ran (workflow time, ms since the epoch). */
export interface PhaseTiming {
  /** 1-based, as in "Phase 2/4" */
  number: number;
  title: string;
  startedAt: number;
  endedAt: number | null;
}

/**
 * The knobs that shape loading, defined here once (the migration workflow takes all four and hands
 * the last three to each collection child). Batch size (records per batch, the unit that commits
 * exactly once with its marker) is the job's `batchSize`; these decide how batches are grouped
 * and run. docs/loading.md says the same for users.
 */
export interface LoadKnobs {
  /**
   * Collections loading at once, each in its own child workflow. Always all of them
   * (DEFAULT_COLLECTION_PARALLELISM in core/config.ts); no CLI flag.
   */
  collectionParallelism: number;
  /**
   * Load activities queued at once per collection (`--parallelism`, JOB_DEFAULTS.parallelism);
   * the workers' activity slots bound what really runs.
   */
  parallelism: number;
  /**
   * Consecutive batches one load activity (`loadBatchRange`) takes, the step at which pause and
   * cancel act (`--batches-per-activity`; default about 64 MiB of source, core/migration/batchRanges.ts).
   */
  batchesPerActivity?: number;
  /**
   * Batches one run of a collection workflow loads before it continues as new (default: when
   * Temporal suggests it). Not a user setting: tests set it small to exercise continue-as-new.
   */
  batchesPerRun?: number;
}
