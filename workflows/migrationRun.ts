import {
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type SignalDefinition,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Segment } from '../core/migration/jobEstimate';
import type { SourceSummary, StepKind, TargetContext, VerificationOutcome } from '../core/migration/types';
import type { VectorIndexType } from '../core/postgres/layouts/types';
import type { MigrationPhase } from '../core/state/stateFile';
import { batchLoadedSignal, loadsStoppedSignal, type CollectionLoadResult } from './collection';
import { cancelSignal, pauseSignal, progressQuery, resumeSignal, stepProgressSignal } from './control';
import type { MigrationInput, MigrationOutcome, MigrationResult } from './migration';
import { PHASE_ATTRIBUTE, ROWS_DONE_ATTRIBUTE } from './searchAttributes';
import { MigrationTracker } from './tracker';

const STAGED_PHASES = [
  'Creating backup',
  'Migrating to staging',
  'Verifying staged data',
  'Promoting staging to production',
];

/** What the state file says besides the phase (defaults to what the phase implies). */
interface PhaseFlags {
  verificationPassed?: boolean;
}

/** Short activities of the migration (the state mirror, preparing the target, the registry switch). */
export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
const lastRecord = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3 } });

/** "staging a, b, c and 10 more": the collections loading now. */
function stagingStep(loading: string[]): string {
  const shown = loading.slice(0, 3).join(', ');
  return `staging ${shown}${loading.length > 3 ? ` and ${loading.length - 3} more` : ''}`;
}

/**
 * The Temporal side of a running migration, around its MigrationTracker: the message handlers
 * (pause, resume and cancel, forwarded to the collection children; progress), the phase
 * bookkeeping ("Phase 2/4: …"), the state-file mirror, the search attributes and the UI's details,
 * and the job's result. The workflow (workflows/migration.ts) only says what each phase does.
 */
export class MigrationRun {
  readonly tracker: MigrationTracker;
  /** what the job reports besides its progress: target notes, skipped steps */
  readonly notes: string[] = [];
  /** the collections loading now and their child workflow ids: pause, resume and cancel go to them too */
  private readonly children = new Map<string, string>();
  private readonly phaseTitles: string[];
  private phaseNumber = 0;
  private source: SourceSummary | undefined;
  private target: TargetContext | undefined;
  private vectorIndex: VectorIndexType | undefined;

  constructor(private readonly input: MigrationInput) {
    const { job } = input;
    this.tracker = new MigrationTracker(job.jobId, Date.now(), {
      staged: input.mode === 'staged',
      verify: !input.skipVerify && input.startAt !== 'promote',
      vectorIndex: job.vectorIndex !== 'none',
    });
    this.phaseTitles = input.mode === 'staged' ? STAGED_PHASES : STAGED_PHASES.slice(1);
    this.handleMessages();
  }

  private handleMessages(): void {
    const tracker = this.tracker;
    setHandler(progressQuery, () => tracker.progress(Date.now()));
    setHandler(stepProgressSignal, (report) => {
      tracker.stepProgress(report);
      this.refreshDetails();
    });
    setHandler(batchLoadedSignal, ({ collection, rows, rejected, batches }) => {
      tracker.batchLoaded(collection, rows, rejected, Date.now(), batches);
      // the UI's "current details" follow the rows (local state: no command, replay-safe)
      this.refreshDetails();
    });
    setHandler(loadsStoppedSignal, ({ collection }) => {
      tracker.loadsStopped(collection);
      this.refreshDetails();
    });
    setHandler(pauseSignal, async () => {
      tracker.pause(this.children.keys());
      this.refreshDetails();
      await this.forward(pauseSignal);
    });
    setHandler(resumeSignal, async () => {
      tracker.resume();
      this.refreshDetails();
      await this.forward(resumeSignal);
    });
    setHandler(cancelSignal, async () => {
      tracker.cancelRequested = true;
      this.refreshDetails();
      await this.forward(cancelSignal);
    });
  }

  private async forward(signal: SignalDefinition<[], string>): Promise<void> {
    for (const id of this.children.values())
      await getExternalWorkflowHandle(id)
        .signal(signal)
        .catch(() => undefined);
  }

  private refreshDetails(): void {
    setCurrentDetails(this.tracker.details(Date.now()));
  }

  /** The next phase of the job begins (its first step follows with `enter`). */
  nextPhase(): void {
    this.phaseNumber += 1;
  }

  /**
   * The job's step is now `text` of the current phase ("Phase 2/4: building indexes"); with `phase`
   * the job has reached that phase, and the state file says so.
   */
  async enter(text: string, phase?: MigrationPhase, flags: PhaseFlags = {}): Promise<void> {
    await this.enterStep(`Phase ${this.phaseNumber}/${this.phaseTitles.length}: ${text}`, phase, flags);
  }

  private async enterStep(step: string, phase: MigrationPhase | undefined, flags: PhaseFlags = {}): Promise<void> {
    const n = this.phaseNumber;
    this.tracker.step = step;
    if (n > 0) this.tracker.phaseStarted(n, this.phaseTitles[n - 1] ?? step, Date.now());
    if (phase) this.tracker.phase = phase;
    upsertSearchAttributes({ [PHASE_ATTRIBUTE]: [this.tracker.phase], [ROWS_DONE_ATTRIBUTE]: [this.tracker.rowsDone] });
    this.refreshDetails();
    if (phase) await quick.recordState(this.stateNow(flags));
  }

  /** Planning has sized the job: the source and what the target tables are (the state file records them). */
  planned(source: SourceSummary, target: TargetContext): void {
    this.source = source;
    this.target = target;
    this.tracker.planned(source);
  }

  promotedWith(vectorIndex: VectorIndexType): void {
    this.vectorIndex = vectorIndex;
  }

  /** A collection child has started: the step names the collections loading. */
  childStarted(collection: string, workflowId: string): void {
    this.children.set(collection, workflowId);
    this.showLoading();
  }

  childEnded(result: CollectionLoadResult): void {
    this.tracker.collectionDone(result.collection, result.state);
    this.children.delete(result.collection);
    this.showLoading();
  }

  private showLoading(): void {
    if (this.children.size > 0)
      this.tracker.step = `Phase ${this.phaseNumber}/${this.phaseTitles.length}: ${stagingStep([...this.children.keys()])}`;
    this.refreshDetails();
  }

  /**
   * Runs a long step (backup, planning, index build, verify, promote): a pause waits for it to end;
   * its activity's progress reports are taken while it runs.
   */
  async longStep<T>(segment: Segment, body: () => Promise<T>, reports?: StepKind): Promise<T> {
    this.tracker.segmentStarted(segment, Date.now());
    this.tracker.expectStep(reports ?? null);
    this.tracker.stepsRunning += 1;
    try {
      return await body();
    } finally {
      this.tracker.stepsRunning -= 1;
      this.tracker.expectStep(null);
      this.refreshDetails();
    }
  }

  /** Between phases a pause holds the job until resumed; true when the job is to stop (cancelled). */
  async betweenPhases(): Promise<boolean> {
    await condition(() => !this.tracker.paused || this.tracker.cancelRequested);
    return this.tracker.cancelRequested;
  }

  /** The job failed: the phase stays where it got to (the resume point); the error says why it stopped there. */
  async recordFailure(message: string): Promise<void> {
    this.tracker.errors.push(message);
    // best effort, a few tries: the job's own failure is what the caller must see
    await lastRecord.recordState(this.stateNow()).catch(() => undefined);
  }

  /** Stopped where the API's step call asked (`stopAfter`). */
  stopped(verification?: VerificationOutcome): MigrationResult {
    return this.result('stopped', verification);
  }

  async cancelled(verification?: VerificationOutcome): Promise<MigrationResult> {
    this.tracker.errors.push(
      'cancelled by request; staging is kept — run the same command again (or --resume) to continue',
    );
    await this.enterStep('cancelled', 'cancelled');
    return this.result('cancelled', verification);
  }

  async verificationFailed(verification: VerificationOutcome): Promise<MigrationResult> {
    this.tracker.errors.push(...verification.summary);
    this.tracker.ended(Date.now());
    await this.enter('verification failed', 'verification_failed');
    return this.result('verification_failed', verification);
  }

  async promoted(verification?: VerificationOutcome): Promise<MigrationResult> {
    this.tracker.ended(Date.now());
    await this.enter('promoted', 'promoted', { verificationPassed: !this.input.skipVerify });
    return this.result('promoted', verification);
  }

  private result(outcome: MigrationOutcome, verification?: VerificationOutcome): MigrationResult {
    this.tracker.ended(Date.now());
    return {
      outcome,
      jobId: this.input.job.jobId,
      backupId: this.tracker.backupId,
      progress: this.tracker.progress(Date.now()),
      source: this.source ?? { collections: [], absent: [], dimension: 0, dimensionSource: 'none' },
      ...(verification ? { verification } : {}),
      notes: this.notes,
      ...(this.vectorIndex ? { vectorIndex: this.vectorIndex } : {}),
    };
  }

  /** The state file's content now (`.migration_state.json`, the mirror a person can read). */
  private stateNow(flags: PhaseFlags = {}) {
    const { job, mode, batchSize } = this.input;
    const { phase, backupId, errors } = this.tracker;
    const target = this.target;
    return {
      databasePath: job.databasePath,
      target: job.target,
      state: {
        phase,
        backup_id: backupId,
        staging_complete: ['staged', 'verified', 'promoted'].includes(phase),
        verification_passed: flags.verificationPassed ?? ['verified', 'promoted'].includes(phase),
        promoted: phase === 'promoted',
        errors,
        job_id: job.jobId,
        workflow_id: workflowInfo().workflowId,
        mode,
        workspace: job.workspace,
        layout: job.layout,
        batch_size: batchSize,
        ...(target
          ? {
              dimension: target.dimension,
              ...(target.embeddingModel ? { embedding_model: target.embeddingModel } : {}),
            }
          : {}),
        ...(this.vectorIndex ? { vector_index: this.vectorIndex } : {}),
      },
    };
  }
}
