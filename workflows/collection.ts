import {
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
  setCurrentDetails,
} from '@temporalio/workflow';
import type { MigrationActivities } from '../activities/migration';
import { cancelSignal, pauseSignal, resumeSignal } from './control';
import type { CollectionSummary, TargetContext } from './types';

export { cancelSignal, pauseSignal, resumeSignal };

/** Sent to the parent migration after every batch. */
export const batchLoadedSignal = defineSignal<[{ collection: string; batchIndex: number; rows: number; rejected: number }]>('batchLoaded');

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
}

export interface CollectionLoadResult {
  collection: string;
  state: 'done' | 'cancelled';
  /** first batch not loaded (equals the batch count when done) */
  nextBatch: number;
}

const { loadBatch } = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Loads one collection's batches with bounded parallelism. Every batch is exactly-once in effect
 * (its rows and its marker commit together), so retries and replays are harmless. Continues as
 * new before its history grows large, carrying only the index of the next batch.
 */
export async function collectionLoadWorkflow(input: CollectionLoadInput): Promise<CollectionLoadResult> {
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

  const launch = (batchIndex: number) => {
    inFlight += 1;
    void loadBatch({ ctx: input.ctx, collection: input.collection.collection, planFile: input.collection.planFile, batchIndex })
      .then(async (result) => {
        await parent.signal(batchLoadedSignal, { collection: input.collection.collection, batchIndex, rows: result.rows, rejected: result.rejected });
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        inFlight -= 1;
      });
  };

  while (next < total && !cancelled && failure === undefined && !runOver()) {
    await condition(() => (!paused && inFlight < input.parallelism) || cancelled || failure !== undefined);
    if (cancelled || failure !== undefined) break;
    setCurrentDetails(`${input.collection.collection}: batch ${next + 1} of ${total}${paused ? ' (paused)' : ''}`);
    launch(next);
    next += 1;
  }
  // Running batches always finish: nothing is left half-done, and `next` is then a clean resume point.
  await condition(() => inFlight === 0);
  if (failure !== undefined) throw failure;
  if (cancelled) return { collection: input.collection.collection, state: 'cancelled', nextBatch: next };
  if (next < total) {
    await continueAsNew<typeof collectionLoadWorkflow>({ ...input, nextBatch: next, paused });
  }
  return { collection: input.collection.collection, state: 'done', nextBatch: next };
}
