import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
  setCurrentDetails,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { MigrationActivities } from '../activities/migration';
import { cancelSignal, pauseSignal, resumeSignal } from './control';
import { batchesPerActivity } from '../core/migration/batchRanges';
import {
  DEFAULT_HEARTBEAT_TIMEOUT,
  type CollectionSummary,
  type LoadKnobs,
  type TargetContext,
} from '../core/migration/types';

export { cancelSignal, pauseSignal, resumeSignal };

/** Sent to the parent migration after every load activity: `batches` batches from `batchIndex`. */
export const batchLoadedSignal =
  defineSignal<[{ collection: string; batchIndex: number; rows: number; rejected: number; batches: number }]>(
    'batchLoaded',
  );

/**
 * Sent to the parent migration when, after a pause, this collection has no load activity left
 * running: the ones queued were cancelled, the started ones finished.
 */
export const loadsStoppedSignal = defineSignal<[{ collection: string }]>('loadsStopped');

/** A range of consecutive batches: one `loadBatchRange` activity. */
export interface BatchRange {
  batchIndex: number;
  count: number;
}

/** One collection's load; `parallelism`, `batchesPerActivity` and `batchesPerRun` as in LoadKnobs. */
export interface CollectionLoadInput extends Omit<LoadKnobs, 'collectionParallelism'> {
  ctx: TargetContext;
  collection: CollectionSummary;
  /** parent workflow id, for progress signals */
  parentWorkflowId: string;
  /** first batch this run starts at (all before it are done): set by continue-as-new */
  nextBatch?: number;
  paused?: boolean;
  /** ranges below `nextBatch` whose load activity was cancelled before it ran (by a pause): loaded first */
  requeued?: BatchRange[];
  /** how soon a batch of a crashed worker is retried elsewhere (MigrationInput.heartbeatTimeout) */
  heartbeatTimeout?: Duration;
}

export interface CollectionLoadResult {
  collection: string;
  state: 'done' | 'cancelled';
  /** first batch not loaded (equals the batch count when done) */
  nextBatch: number;
}

function batchActivities(heartbeatTimeout: Duration) {
  return proxyActivities<MigrationActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout,
    // A pause cancels load activities: one not started yet is cancelled at once and its range
    // loaded after the resume; one already running completes, and the workflow waits for it.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
}

/**
 * Loads one collection's batches with bounded parallelism. Every batch is exactly-once in effect
 * (its rows and its marker commit together), so retries and replays are harmless. Continues as
 * new before its history grows large, carrying only the index of the next batch.
 */
export async function collectionLoadWorkflow(input: CollectionLoadInput): Promise<CollectionLoadResult> {
  const { loadBatchRange } = batchActivities(input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT);
  let paused = input.paused ?? false;
  let cancelled = false;
  /** the pause this run has told the parent about (reset by a resume) */
  let stopReported = false;
  const running = new Set<CancellationScope>();
  const stopRunning = () => {
    for (const scope of running) scope.cancel();
  };
  setHandler(pauseSignal, () => {
    paused = true;
    stopRunning();
  });
  setHandler(resumeSignal, () => {
    paused = false;
    stopReported = false;
  });
  setHandler(cancelSignal, () => {
    cancelled = true;
    stopRunning();
  });

  const total = input.collection.batches;
  const parent = getExternalWorkflowHandle(input.parentWorkflowId);
  const start = input.nextBatch ?? 0;
  let next = start;
  const requeued: BatchRange[] = [...(input.requeued ?? [])];
  let inFlight = 0;
  let failure: unknown;
  const runLimit = input.batchesPerRun ?? Number.POSITIVE_INFINITY;
  const runOver = () => next - start >= runLimit || workflowInfo().continueAsNewSuggested;
  const hasWork = () => requeued.length > 0 || next < total;

  let signalling = 0;
  const perActivity = batchesPerActivity(input.collection, input.batchesPerActivity);
  const launch = (batchIndex: number, batchCount: number) => {
    inFlight += 1;
    const scope = new CancellationScope();
    running.add(scope);
    const loaded = scope.run(() =>
      loadBatchRange({
        ctx: input.ctx,
        collection: input.collection.collection,
        planFile: input.collection.planFile,
        batchIndex,
        batchCount,
      }),
    );
    void loaded.finally(() => running.delete(scope)).catch(() => undefined);
    const progress = (result: { rows: number; rejected: number }) =>
      parent.signal(batchLoadedSignal, {
        collection: input.collection.collection,
        batchIndex,
        rows: result.rows,
        rejected: result.rejected,
        batches: batchCount,
      });
    void loaded.then(
      (result) => {
        inFlight -= 1;
        signalling += 1;
        // Progress is informative: it never holds a batch slot, and a lost signal fails nothing.
        void progress(result)
          .catch(() => undefined)
          .finally(() => {
            signalling -= 1;
          });
      },
      (error: unknown) => {
        inFlight -= 1;
        // Stopped by a pause or cancel: cancelled before it ran, or it failed after the stop was
        // requested (Temporal does not retry an activity whose cancellation was requested). Either
        // way its range loads again after a resume; a lasting failure then fails it for real.
        if (scope.consideredCancelled) requeued.push({ batchIndex, count: batchCount });
        else failure ??= error;
      },
    );
  };

  while (!cancelled && failure === undefined) {
    if (!hasWork()) {
      if (inFlight === 0) break;
      // a pause or cancel can hand ranges back while the last ones run
      await condition(() => inFlight === 0 || hasWork() || cancelled || failure !== undefined);
      continue;
    }
    if (runOver()) break;
    const stopToReport = () => paused && inFlight === 0 && !stopReported;
    await condition(
      () => (!paused && inFlight < input.parallelism) || stopToReport() || cancelled || failure !== undefined,
    );
    if (cancelled || failure !== undefined) break;
    if (paused) {
      if (stopToReport()) {
        stopReported = true;
        await parent.signal(loadsStoppedSignal, { collection: input.collection.collection }).catch(() => undefined);
      }
      continue;
    }
    requeued.sort((a, b) => a.batchIndex - b.batchIndex);
    const again = requeued.shift();
    if (again) {
      setCurrentDetails(
        `${input.collection.collection}: batch ${again.batchIndex + 1}${again.count > 1 ? `–${again.batchIndex + again.count}` : ''} of ${total} (again, after a pause)`,
      );
      launch(again.batchIndex, again.count);
      continue;
    }
    // a range never crosses the run's batch limit, so continue-as-new happens where the test asks
    const count = Math.min(
      perActivity,
      total - next,
      Number.isFinite(runLimit) ? start + runLimit - next : perActivity,
    );
    setCurrentDetails(
      `${input.collection.collection}: batch ${next + 1}${count > 1 ? `–${next + count}` : ''} of ${total}${paused ? ' (paused)' : ''}`,
    );
    launch(next, count);
    next += count;
  }
  // Running batches always finish: nothing is left half-done, and `next` is then a clean resume point.
  await condition(() => inFlight === 0 && signalling === 0);
  if (failure !== undefined) throw failure;
  const firstNotLoaded = Math.min(next, ...requeued.map((r) => r.batchIndex));
  if (cancelled) return { collection: input.collection.collection, state: 'cancelled', nextBatch: firstNotLoaded };
  if (hasWork()) {
    await continueAsNew<typeof collectionLoadWorkflow>({
      ...input,
      nextBatch: next,
      paused,
      ...(requeued.length ? { requeued } : {}),
    });
  }
  return { collection: input.collection.collection, state: 'done', nextBatch: next };
}
