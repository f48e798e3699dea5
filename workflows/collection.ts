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
  const load = new CollectionLoad(input);
  while (!load.stopped()) {
    if (!load.hasWork()) {
      if (load.idle()) break;
      // a pause or cancel can hand ranges back while the last ones run
      await load.untilIdleOrWork();
      continue;
    }
    if (load.runOver()) break;
    await load.untilSlotFree();
    if (load.stopped()) break;
    if (load.paused) await load.reportLoadsStopped();
    else load.launch(load.nextRange());
  }
  // Running batches always finish: nothing is left half-done, and `next` is then a clean resume point.
  await load.drained();
  if (load.failure !== undefined) throw load.failure;
  if (load.cancelled) return load.result('cancelled');
  if (load.hasWork()) await continueAsNew<typeof collectionLoadWorkflow>(load.continuation());
  return load.result('done');
}

/** The collection workflow's state and handlers: the ranges loaded, running and handed back, pause and cancel. */
class CollectionLoad {
  paused: boolean;
  cancelled = false;
  failure: unknown;
  private readonly activities: ReturnType<typeof batchActivities>;
  private readonly parent: ReturnType<typeof getExternalWorkflowHandle>;
  private readonly total: number;
  private readonly start: number;
  private readonly runLimit: number;
  private readonly perActivity: number;
  /** first batch not yet scheduled in this run */
  private next: number;
  /** ranges whose activity a pause or cancel stopped before it ran: loaded first */
  private readonly requeued: BatchRange[];
  private readonly running = new Set<CancellationScope>();
  private inFlight = 0;
  /** progress signals on their way to the parent */
  private signalling = 0;
  /** the pause this run has told the parent about (reset by a resume) */
  private stopReported = false;

  constructor(private readonly input: CollectionLoadInput) {
    this.activities = batchActivities(input.heartbeatTimeout ?? DEFAULT_HEARTBEAT_TIMEOUT);
    this.parent = getExternalWorkflowHandle(input.parentWorkflowId);
    this.paused = input.paused ?? false;
    this.total = input.collection.batches;
    this.start = input.nextBatch ?? 0;
    this.next = this.start;
    this.requeued = [...(input.requeued ?? [])];
    this.runLimit = input.batchesPerRun ?? Number.POSITIVE_INFINITY;
    this.perActivity = batchesPerActivity(input.collection, input.batchesPerActivity);
    setHandler(pauseSignal, () => {
      this.paused = true;
      this.stopRunning();
    });
    setHandler(resumeSignal, () => {
      this.paused = false;
      this.stopReported = false;
    });
    setHandler(cancelSignal, () => {
      this.cancelled = true;
      this.stopRunning();
    });
  }

  private stopRunning(): void {
    for (const scope of this.running) scope.cancel();
  }

  private get name(): string {
    return this.input.collection.collection;
  }

  stopped(): boolean {
    return this.cancelled || this.failure !== undefined;
  }

  hasWork(): boolean {
    return this.requeued.length > 0 || this.next < this.total;
  }

  idle(): boolean {
    return this.inFlight === 0;
  }

  runOver(): boolean {
    return this.next - this.start >= this.runLimit || workflowInfo().continueAsNewSuggested;
  }

  async untilIdleOrWork(): Promise<void> {
    await condition(() => this.idle() || this.hasWork() || this.stopped());
  }

  /** Until a load may start, or a pause has to be reported, or the load stops. */
  async untilSlotFree(): Promise<void> {
    await condition(
      () => (!this.paused && this.inFlight < this.input.parallelism) || this.stopToReport() || this.stopped(),
    );
  }

  private stopToReport(): boolean {
    return this.paused && this.inFlight === 0 && !this.stopReported;
  }

  /** Paused: once nothing runs, the parent hears that this collection's loads have stopped (once per pause). */
  async reportLoadsStopped(): Promise<void> {
    if (!this.stopToReport()) return;
    this.stopReported = true;
    await this.parent.signal(loadsStoppedSignal, { collection: this.name }).catch(() => undefined);
  }

  /** The next range to load: a handed-back one first, else the next batches of this run. */
  nextRange(): BatchRange {
    this.requeued.sort((a, b) => a.batchIndex - b.batchIndex);
    const again = this.requeued.shift();
    if (again) {
      setCurrentDetails(`${this.name}: batch ${this.batches(again)} of ${this.total} (again, after a pause)`);
      return again;
    }
    // a range never crosses the run's batch limit, so continue-as-new happens where the test asks
    const count = Math.min(
      this.perActivity,
      this.total - this.next,
      Number.isFinite(this.runLimit) ? this.start + this.runLimit - this.next : this.perActivity,
    );
    const range = { batchIndex: this.next, count };
    setCurrentDetails(`${this.name}: batch ${this.batches(range)} of ${this.total}${this.paused ? ' (paused)' : ''}`);
    this.next += count;
    return range;
  }

  /** "3" or "3–10" (1-based) */
  private batches({ batchIndex, count }: BatchRange): string {
    return `${batchIndex + 1}${count > 1 ? `–${batchIndex + count}` : ''}`;
  }

  /** Starts the range's load activity in a scope a pause or cancel can cancel while it waits to run. */
  launch(range: BatchRange): void {
    this.inFlight += 1;
    const scope = new CancellationScope();
    this.running.add(scope);
    const { ctx, collection } = this.input;
    const loaded = scope.run(() =>
      this.activities.loadBatchRange({
        ctx,
        collection: collection.collection,
        planFile: collection.planFile,
        batchIndex: range.batchIndex,
        batchCount: range.count,
      }),
    );
    void loaded.finally(() => this.running.delete(scope)).catch(() => undefined);
    void loaded.then(
      (result) => {
        this.inFlight -= 1;
        this.reportProgress(range, result);
      },
      (error: unknown) => {
        this.inFlight -= 1;
        // Stopped by a pause or cancel: cancelled before it ran, or it failed after the stop was
        // requested (Temporal does not retry an activity whose cancellation was requested). Either
        // way its range loads again after a resume; a lasting failure then fails it for real.
        if (scope.consideredCancelled) this.requeued.push(range);
        else this.failure ??= error;
      },
    );
  }

  /** Progress is informative: it never holds a batch slot, and a lost signal fails nothing. */
  private reportProgress(range: BatchRange, result: { rows: number; rejected: number }): void {
    this.signalling += 1;
    void this.parent
      .signal(batchLoadedSignal, {
        collection: this.name,
        batchIndex: range.batchIndex,
        rows: result.rows,
        rejected: result.rejected,
        batches: range.count,
      })
      .catch(() => undefined)
      .finally(() => {
        this.signalling -= 1;
      });
  }

  async drained(): Promise<void> {
    await condition(() => this.inFlight === 0 && this.signalling === 0);
  }

  result(state: 'done' | 'cancelled'): CollectionLoadResult {
    const firstNotLoaded = Math.min(this.next, ...this.requeued.map((r) => r.batchIndex));
    return { collection: this.name, state, nextBatch: state === 'cancelled' ? firstNotLoaded : this.next };
  }

  /** The next run's input: where this one stopped, still paused or not, with the ranges handed back. */
  continuation(): CollectionLoadInput {
    return {
      ...this.input,
      nextBatch: this.next,
      paused: this.paused,
      // always set: an empty list must replace the ranges this run was handed (and has loaded)
      requeued: [...this.requeued],
    };
  }
}
