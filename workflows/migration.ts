import {
  condition,
  isCancellation,
  getExternalWorkflowHandle,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  ParentClosePolicy,
  startChild,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import type { MigrationPhase } from '../core/state/stateFile';
import { batchLoadedSignal, collectionLoadWorkflow, loadsStoppedSignal, type CollectionLoadResult } from './collection';
import { cancelSignal, pauseSignal, progressQuery, resumeSignal, stepProgressSignal } from './control';
import { innermostFailureMessage } from './failureMessage';
import { PHASE_ATTRIBUTE, ROWS_DONE_ATTRIBUTE } from './searchAttributes';
import { MigrationTracker } from './tracker';
import {
  DEFAULT_HEARTBEAT_TIMEOUT,
  type JobContext,
  type LoadKnobs,
  type MigrationProgress,
  type SourceSummary,
  type StepKind,
  type TargetContext,
  type VerificationOutcome,
} from '../core/migration/types';
import type { Segment } from '../core/migration/jobEstimate';
import type { VectorIndexType } from '../core/postgres/layouts/types';

export { cancelSignal, pauseSignal, progressQuery, resumeSignal, stepProgressSignal };

const STAGED_PHASES = [
  'Creating backup',
  'Migrating to staging',
  'Verifying staged data',
  'Promoting staging to production',
];

/** Why --strict refuses to promote these staged rows, or undefined when every record is stored exactly. */
function strictRefusal(v: VerificationOutcome): string | undefined {
  if (v.fittedValues === 0 && v.leftOut === 0) return undefined;
  return `--strict: ${v.fittedValues} values fitted and ${v.leftOut} records left out (see ${v.reportFile})`;
}

/** "staging a, b, c and 10 more": the collections loading now. */
function stagingStep(loading: string[]): string {
  const shown = loading.slice(0, 3).join(', ');
  return `staging ${shown}${loading.length > 3 ? ` and ${loading.length - 3} more` : ''}`;
}

/** One job; how it loads (collections at once, parallelism, batches per activity and per run): LoadKnobs. */
export interface MigrationInput extends LoadKnobs {
  job: JobContext;
  /** staged: backup → staging → verify → promote; direct: the same without the backup */
  mode: 'staged' | 'direct';
  batchSize: number;
  skipVerify: boolean;
  /** refuse to promote when the verification found fitted values or left-out records (--strict) */
  strict?: boolean;
  /** a backup made by an earlier run of the same job (resume): Phase 1 is not repeated */
  existingBackupId?: string | null;
  /** the HybridRAG registry entry switched to PostgreSQL after promote */
  registry?: { path: string; name: string };
  /**
   * How long a long activity may go without a heartbeat before Temporal retries it elsewhere,
   * i.e. how soon the work of a crashed worker is picked up (default 30 seconds; activities
   * heartbeat every 5 s, or a third of this when shorter). Tests shorten it.
   */
  heartbeatTimeout?: Duration;
  /** stop once this phase is reached (the programmatic API runs the phases one call at a time) */
  stopAfter?: 'prepared' | 'staged' | 'verified';
  /** an earlier run of this job got that far: skip loading (verify) or loading and verifying (promote) */
  startAt?: 'verify' | 'promote';
}

export type MigrationOutcome = 'promoted' | 'verification_failed' | 'cancelled' | 'stopped';

export interface MigrationResult {
  outcome: MigrationOutcome;
  jobId: string;
  backupId: string | null;
  progress: MigrationProgress;
  source: SourceSummary;
  verification?: VerificationOutcome;
  notes: string[];
  /** promoted: the vector index built (what LightRAG's POSTGRES_VECTOR_INDEX_TYPE must say) */
  vectorIndex?: VectorIndexType;
}

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
const lastRecord = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3 } });
function longActivities(heartbeatTimeout: Duration) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '12 hours',
    heartbeatTimeout,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
}

/** One migration job of one database into one target: the phases of the original guide. */
export async function migrationWorkflow(input: MigrationInput): Promise<MigrationResult> {
  const failed: { record?: (message: string) => Promise<void> } = {};
  try {
    return await migrationPhases(input, failed);
  } catch (error) {
    if (!isCancellation(error) && failed.record) await failed.record(innermostFailureMessage(error));
    throw error;
  }
}

async function migrationPhases(
  input: MigrationInput,
  failed: { record?: (message: string) => Promise<void> },
): Promise<MigrationResult> {
  const { job } = input;
  const long = longActivities(input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT);
  const tracker = new MigrationTracker(job.jobId, Date.now(), {
    staged: input.mode === 'staged',
    verify: !input.skipVerify && input.startAt !== 'promote',
    vectorIndex: job.vectorIndex !== 'none',
  });
  const phaseTitles = input.mode === 'staged' ? STAGED_PHASES : STAGED_PHASES.slice(1);
  const children = new Map<string, string>();
  const notes: string[] = [];
  const totalPhases = input.mode === 'staged' ? 4 : 3;

  setHandler(progressQuery, () => tracker.progress(Date.now()));
  setHandler(stepProgressSignal, (report) => {
    tracker.stepProgress(report);
    refreshDetails();
  });
  setHandler(batchLoadedSignal, ({ collection, rows, rejected, batches }) => {
    tracker.batchLoaded(collection, rows, rejected, Date.now(), batches);
    // the UI's "current details" follow the rows (local state: no command, replay-safe)
    refreshDetails();
  });
  const forward = async (signal: SignalDefinition<[], string>) => {
    for (const id of children.values())
      await getExternalWorkflowHandle(id)
        .signal(signal)
        .catch(() => undefined);
  };
  setHandler(loadsStoppedSignal, ({ collection }) => {
    tracker.loadsStopped(collection);
    refreshDetails();
  });
  setHandler(pauseSignal, async () => {
    tracker.pause(children.keys());
    refreshDetails();
    await forward(pauseSignal);
  });
  setHandler(resumeSignal, async () => {
    tracker.resume();
    refreshDetails();
    await forward(resumeSignal);
  });
  setHandler(cancelSignal, async () => {
    tracker.cancelRequested = true;
    refreshDetails();
    await forward(cancelSignal);
  });

  function refreshDetails(): void {
    setCurrentDetails(tracker.details(Date.now()));
  }

  async function enterPhase(
    phase: MigrationPhase | undefined,
    step: string,
    extra: { stagingComplete?: boolean; verificationPassed?: boolean; promoted?: boolean } = {},
  ): Promise<void> {
    tracker.step = step;
    if (n > 0) tracker.phaseStarted(n, phaseTitles[n - 1] ?? step, Date.now());
    if (phase) tracker.phase = phase;
    upsertSearchAttributes({ [PHASE_ATTRIBUTE]: [tracker.phase], [ROWS_DONE_ATTRIBUTE]: [tracker.rowsDone] });
    refreshDetails();
    if (phase) await quick.recordState(stateNow(extra));
  }

  function stateNow(extra: { stagingComplete?: boolean; verificationPassed?: boolean; promoted?: boolean } = {}) {
    return {
      databasePath: job.databasePath,
      target: job.target,
      state: {
        phase: tracker.phase,
        backup_id: tracker.backupId,
        staging_complete: extra.stagingComplete ?? ['staged', 'verified', 'promoted'].includes(tracker.phase),
        verification_passed: extra.verificationPassed ?? ['verified', 'promoted'].includes(tracker.phase),
        promoted: extra.promoted ?? tracker.phase === 'promoted',
        errors: tracker.errors,
        job_id: job.jobId,
        workflow_id: workflowInfo().workflowId,
        mode: input.mode,
        workspace: job.workspace,
        layout: job.layout,
        batch_size: input.batchSize,
        ...(planned
          ? {
              dimension: planned.dimension,
              ...(planned.embeddingModel ? { embedding_model: planned.embeddingModel } : {}),
            }
          : {}),
        ...(vectorIndex ? { vector_index: vectorIndex } : {}),
      },
    };
  }

  // the phase stays where the job got to (the resume point); the error says why it stopped there
  failed.record = async (message) => {
    tracker.errors.push(message);
    // best effort, a few tries: the job's own failure is what the caller must see
    await lastRecord.recordState(stateNow()).catch(() => undefined);
  };

  /**
   * Runs a long step (backup, planning, index build, verify, promote): a pause waits for it to end;
   * its activity's progress reports are taken while it runs.
   */
  async function longStep<T>(segment: Segment, body: () => Promise<T>, reports?: StepKind): Promise<T> {
    tracker.segmentStarted(segment, Date.now());
    tracker.expectStep(reports ?? null);
    tracker.stepsRunning += 1;
    try {
      return await body();
    } finally {
      tracker.stepsRunning -= 1;
      tracker.expectStep(null);
      refreshDetails();
    }
  }
  /** Between phases a pause holds the job until resumed; true when the job is to stop (cancelled). */
  async function betweenPhases(): Promise<boolean> {
    await condition(() => !tracker.paused || tracker.cancelRequested);
    return tracker.cancelRequested;
  }

  let planned: { dimension: number; embeddingModel?: string } | undefined;
  let vectorIndex: VectorIndexType | undefined;
  /** The result of a job that ends before promoting (stopped by the API's step calls, or cancelled). */
  const endedEarly = (
    outcome: 'stopped' | 'cancelled',
    verification?: MigrationResult['verification'],
  ): MigrationResult => {
    tracker.ended(Date.now());
    return {
      outcome,
      jobId: job.jobId,
      backupId: tracker.backupId,
      progress: tracker.progress(Date.now()),
      source: source ?? { collections: [], absent: [], dimension: 0, dimensionSource: 'none' },
      ...(verification ? { verification } : {}),
      notes,
    };
  };
  const stopped = (verification?: MigrationResult['verification']) => endedEarly('stopped', verification);
  const cancelled = async (verification?: MigrationResult['verification']): Promise<MigrationResult> => {
    tracker.errors.push('cancelled by request; staging is kept — run the same command again (or --resume) to continue');
    await enterPhase('cancelled', 'cancelled');
    return endedEarly('cancelled', verification);
  };
  let source: SourceSummary | undefined;
  const phaseLabel = (n: number, text: string) => `Phase ${n}/${totalPhases}: ${text}`;
  let n = 0;

  // Phase 1: backup (staged only; kept from an earlier run of the same job).
  if (input.mode === 'staged') {
    n += 1;
    tracker.backupId = input.existingBackupId ?? null;
    if (!tracker.backupId) {
      await enterPhase(undefined, phaseLabel(n, 'creating backup'));
      tracker.backupId = (
        await longStep(
          'backup',
          () =>
            long.backupDatabase({
              databasePath: job.databasePath,
              databaseName: job.databaseName,
              reportProgress: true,
            }),
          'backup',
        )
      ).backupId;
    }
    await enterPhase('prepared', phaseLabel(n, `backup ${tracker.backupId}`));
    if (input.stopAfter === 'prepared') return stopped();
    if (await betweenPhases()) return cancelled();
  }

  // Phase 2: staging.
  n += 1;
  await enterPhase(undefined, phaseLabel(n, 'planning the source files'));
  const summary = await longStep('planning', () => long.planSource({ job, batchSize: input.batchSize }));
  source = summary;
  tracker.planned(summary);
  const model = job.embeddingModel ?? summary.embeddingModel;
  const targetContext: TargetContext = {
    job,
    dimension: summary.dimension,
    ...(model ? { embeddingModel: model } : {}),
  };
  planned = targetContext;
  if (!input.startAt) await stage();

  async function stage(): Promise<void> {
    tracker.segmentStarted('staging', Date.now());
    await enterPhase(undefined, phaseLabel(n, 'preparing staging tables'));
    notes.push(...(await quick.prepareTarget({ ...targetContext, batchSize: input.batchSize })).notes);

    const pending = [...summary.collections];
    const running = new Set<Promise<void>>();
    const results: CollectionLoadResult[] = [];
    while (pending.length > 0 || running.size > 0) {
      while (pending.length > 0 && running.size < input.collectionParallelism && !tracker.cancelRequested) {
        const collection = pending.shift()!;
        const childId = `${workflowInfo().workflowId}/${collection.collection}`;
        children.set(collection.collection, childId);
        tracker.step = phaseLabel(n, stagingStep([...children.keys()]));
        refreshDetails();
        const pausedAtStart = tracker.paused;
        const task: Promise<void> = startChild(collectionLoadWorkflow, {
          workflowId: childId,
          args: [
            {
              ctx: targetContext,
              collection,
              parentWorkflowId: workflowInfo().workflowId,
              parallelism: input.parallelism,
              paused: pausedAtStart,
              ...(input.batchesPerRun ? { batchesPerRun: input.batchesPerRun } : {}),
              ...(input.batchesPerActivity ? { batchesPerActivity: input.batchesPerActivity } : {}),
              ...(input.heartbeatTimeout !== undefined ? { heartbeatTimeout: input.heartbeatTimeout } : {}),
            },
          ],
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        })
          .then(async (child) => {
            // A pause, resume or cancel sent while the child was starting went to a workflow that
            // did not exist yet and was lost: hand the started child the current state.
            if (tracker.paused !== pausedAtStart)
              await child.signal(tracker.paused ? pauseSignal : resumeSignal).catch(() => undefined);
            if (tracker.cancelRequested) await child.signal(cancelSignal).catch(() => undefined);
            return child.result();
          })
          .then((result) => {
            results.push(result);
            tracker.collectionDone(result.collection, result.state);
            children.delete(result.collection);
            if (children.size > 0) tracker.step = phaseLabel(n, stagingStep([...children.keys()]));
            refreshDetails();
          });
        running.add(task);
        void task.finally(() => running.delete(task)).catch(() => undefined);
      }
      if (tracker.cancelRequested && pending.length > 0) pending.length = 0;
      if (running.size > 0) await Promise.race(running);
    }

    if (tracker.cancelRequested || (await betweenPhases())) return;

    await enterPhase(undefined, phaseLabel(n, 'finishing staging (joins, duplicates)'));
    const finished = await longStep('staging', () => long.finishStaging(targetContext));
    notes.push(...finished.notes);
    if (await betweenPhases()) return;
    await enterPhase(undefined, phaseLabel(n, 'building indexes'));
    await longStep('indexBuild', () => long.buildIndexes(targetContext), 'indexes');
    await enterPhase('staged', phaseLabel(n, 'data in staging tables'));
  }

  if (tracker.cancelRequested) return cancelled();
  if (input.stopAfter === 'staged') return stopped();
  if (await betweenPhases()) return cancelled();

  // Phase 3 (direct: 2): verify. Direct mode verifies before promoting too: staging makes that free.
  let verification: MigrationResult['verification'];
  n += 1;
  if (input.startAt === 'promote') {
    // verified by an earlier run of this job
  } else if (!input.skipVerify) {
    await enterPhase(undefined, phaseLabel(n, 'verifying staged data'));
    verification = await longStep(
      'verify',
      () => long.verifyStaging({ ...targetContext, expected: summary }),
      'verify',
    );
    const refused = input.strict ? strictRefusal(verification) : undefined;
    if (refused) verification = { ...verification, passed: false, summary: [...verification.summary, refused] };
    if (!verification.passed) {
      tracker.errors.push(...verification.summary);
      tracker.ended(Date.now());
      await enterPhase('verification_failed', phaseLabel(n, 'verification failed'));
      return {
        outcome: 'verification_failed',
        jobId: job.jobId,
        backupId: tracker.backupId,
        progress: tracker.progress(Date.now()),
        source: summary,
        verification,
        notes,
      };
    }
    await enterPhase('verified', phaseLabel(n, 'verification passed'));
  } else {
    notes.push(
      'verification skipped (--skip-verify): the staged data was promoted without being compared to the source',
    );
    await enterPhase('verified', phaseLabel(n, 'verification skipped'), { verificationPassed: false });
  }
  if (input.stopAfter === 'verified') return stopped(verification);
  if (await betweenPhases()) return cancelled(verification);

  // Phase 4 (direct: 3): promote, in one transaction; the previous generation is kept for rollback.
  n += 1;
  await enterPhase(undefined, phaseLabel(n, 'promoting staging to production'));
  const promoted = await longStep('promote', () => long.promote(targetContext), 'promote');
  notes.push(...promoted.notes);
  vectorIndex = promoted.vectorIndex;
  if (input.registry) await quick.switchRegistry({ ...input.registry, job, stamp: job.jobId });
  tracker.ended(Date.now());
  await enterPhase('promoted', phaseLabel(n, 'promoted'), { verificationPassed: !input.skipVerify });
  return {
    outcome: 'promoted',
    jobId: job.jobId,
    backupId: tracker.backupId,
    progress: tracker.progress(Date.now()),
    source: summary,
    ...(verification ? { verification } : {}),
    notes,
    vectorIndex: promoted.vectorIndex,
  };
}
