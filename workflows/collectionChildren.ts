import { ParentClosePolicy, startChild, workflowInfo, type ChildWorkflowHandle } from '@temporalio/workflow';
import type { CollectionSummary, TargetContext } from '../core/migration/types';
import { collectionLoadWorkflow, type CollectionLoadInput } from './collection';
import { cancelSignal, pauseSignal, resumeSignal } from './control';
import type { MigrationInput } from './migration';
import type { MigrationRun } from './migrationRun';

/**
 * Phase 2's loading: one collection child workflow per collection, `collectionParallelism` of them
 * at once. A cancel starts no more children (the running ones stop at their next range); returns
 * once every child started has ended.
 */
export async function loadCollections(
  run: MigrationRun,
  input: MigrationInput,
  target: TargetContext,
  collections: CollectionSummary[],
): Promise<void> {
  const pending = [...collections];
  const running = new Set<Promise<void>>();
  while (pending.length > 0 || running.size > 0) {
    while (pending.length > 0 && running.size < input.collectionParallelism && !run.tracker.cancelRequested) {
      const task = loadCollection(run, childInput(input, target, pending.shift()!, run.tracker.paused));
      running.add(task);
      void task.finally(() => running.delete(task)).catch(() => undefined);
    }
    if (run.tracker.cancelRequested) pending.length = 0;
    if (running.size > 0) await Promise.race(running);
  }
}

/** Starts one collection's child, hands it any pause or cancel it missed while starting, awaits it. */
async function loadCollection(run: MigrationRun, args: CollectionLoadInput): Promise<void> {
  const workflowId = `${workflowInfo().workflowId}/${args.collection.collection}`;
  run.childStarted(args.collection.collection, workflowId);
  const child = await startChild(collectionLoadWorkflow, {
    workflowId,
    args: [args],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  });
  await handOver(run, child, args.paused ?? false);
  run.childEnded(await child.result());
}

/**
 * A pause, resume or cancel sent while the child was starting went to a workflow that did not
 * exist yet and was lost: hand the started child the current state.
 */
async function handOver(
  run: MigrationRun,
  child: ChildWorkflowHandle<typeof collectionLoadWorkflow>,
  pausedAtStart: boolean,
): Promise<void> {
  const tracker = run.tracker;
  if (tracker.paused !== pausedAtStart)
    await child.signal(tracker.paused ? pauseSignal : resumeSignal).catch(() => undefined);
  if (tracker.cancelRequested) await child.signal(cancelSignal).catch(() => undefined);
}

function childInput(
  input: MigrationInput,
  target: TargetContext,
  collection: CollectionSummary,
  paused: boolean,
): CollectionLoadInput {
  return {
    ctx: target,
    collection,
    parentWorkflowId: workflowInfo().workflowId,
    parallelism: input.parallelism,
    paused,
    ...(input.batchesPerRun ? { batchesPerRun: input.batchesPerRun } : {}),
    ...(input.batchesPerActivity ? { batchesPerActivity: input.batchesPerActivity } : {}),
    ...(input.heartbeatTimeout !== undefined ? { heartbeatTimeout: input.heartbeatTimeout } : {}),
  };
}
