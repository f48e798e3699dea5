import {
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
  setCurrentDetails,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { MigrationActivities } from '../activities/migration';
import { cancelSignal, pauseSignal, resumeSignal } from './control';
import { batchesPerActivity } from '../core/migration/batchRanges';
import { DEFAULT_HEARTBEAT_TIMEOUT, type CollectionSummary, type TargetContext } from './types';

export { cancelSignal, pauseSignal, resumeSignal };

/** Sent to the parent migration after every load activity: `batches` batches from `batchIndex` (1 when absent). */
export const batchLoadedSignal = defineSignal<[{ collection: string; batchIndex: number; rows: number; rejected: number; batches?: number }]>('batchLoaded');

export interface CollectionLoadInput {
  ctx: TargetContext;
  collection: CollectionSummary;
  /** parent workflow id, for progress signals */
  parentWorkflowId: string;
  /** batches loaded at once */
  parallelism: number;
  /** first batch this run starts at (all before it are done): set by continue-as-new */
  nextBatch?: number;
  paused?: boolean;
  /** test hook: continue-as-new after this many batches in one run (default: when Temporal suggests it) */
  batchesPerRun?: number;
  /** consecutive batches per load activity (default: core/migration/batchRanges.ts sizes them by bytes) */
  batchesPerActivity?: number;
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
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
}

/**
 * Loads one collection's batches with bounded parallelism. Every batch is exactly-once in effect
 * (its rows and its marker commit together), so retries and replays are harmless. Continues as
 * new before its history grows large, carrying only the index of the next batch.
 */
export async function collectionLoadWorkflow(input: CollectionLoadInput): Promise<CollectionLoadResult> {
  const { loadBatch } = batchActivities(input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT);
  let paused = input.paused ?? false;
  let cancelled = false;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  setHandler(cancelSignal, () => void (cancelled = true));

  const total = input.collection.batches;
  const parent = getExternalWorkflowHandle(input.parentWorkflowId);
  const start = input.nextBatch ?? 0;
  let next = start;
  let inFlight = 0;
  let failure: unknown;
  const runLimit = input.batchesPerRun ?? Number.POSITIVE_INFINITY;
  const runOver = () => next - start >= runLimit || workflowInfo().continueAsNewSuggested;

  let signalling = 0;
  // Before this patch a batch held its slot until its progress signal reached the parent (one
  // more workflow task per batch, batches serialised behind signals), and a failed progress
  // signal failed the collection. Histories of running workflows keep the old order.
  const progressOffSlot = patched('progress-signal-off-batch-slot');
  // Before this patch every activity loaded one batch; histories recorded then replay that way.
  const ranges = patched('batch-ranges-per-activity');
  const perActivity = ranges ? batchesPerActivity(input.collection, input.batchesPerActivity) : 1;
  const launch = (batchIndex: number, batchCount: number) => {
    inFlight += 1;
    const args = { ctx: input.ctx, collection: input.collection.collection, planFile: input.collection.planFile, batchIndex };
    const loaded = loadBatch(ranges ? { ...args, batchCount } : args);
    const progress = (result: { rows: number; rejected: number }) =>
      parent.signal(batchLoadedSignal, { collection: input.collection.collection, batchIndex, rows: result.rows, rejected: result.rejected, ...(ranges ? { batches: batchCount } : {}) });
    if (!progressOffSlot) {
      void loaded
        .then(async (result) => {
          await progress(result);
        })
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => {
          inFlight -= 1;
        });
      return;
    }
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
        failure ??= error;
      },
    );
  };

  while (next < total && !cancelled && failure === undefined && !runOver()) {
    await condition(() => (!paused && inFlight < input.parallelism) || cancelled || failure !== undefined);
    if (cancelled || failure !== undefined) break;
    // a range never crosses the run's batch limit, so continue-as-new happens where the test asks
    const count = Math.min(perActivity, total - next, Number.isFinite(runLimit) ? start + runLimit - next : perActivity);
    setCurrentDetails(`${input.collection.collection}: batch ${next + 1}${count > 1 ? `–${next + count}` : ''} of ${total}${paused ? ' (paused)' : ''}`);
    launch(next, count);
    next += count;
  }
  // Running batches always finish: nothing is left half-done, and `next` is then a clean resume point.
  await condition(() => inFlight === 0 && signalling === 0);
  if (failure !== undefined) throw failure;
  if (cancelled) return { collection: input.collection.collection, state: 'cancelled', nextBatch: next };
  if (next < total) {
    await continueAsNew<typeof collectionLoadWorkflow>({ ...input, nextBatch: next, paused });
  }
  return { collection: input.collection.collection, state: 'done', nextBatch: next };
}
