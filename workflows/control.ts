import { defineQuery, defineSignal } from '@temporalio/workflow';
import { STEP_PROGRESS_SIGNAL, type MigrationProgress, type StepProgress } from '../core/migration/types';

/**
 * The messages of the migration workflows, defined once: the workflows set their handlers with
 * them and the client sends and queries with the same objects (this module has no workflow code,
 * so the client can import it).
 */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Stops scheduling new batches; running ones finish; the job stays resumable. */
export const cancelSignal = defineSignal('cancel');
/** Phase, step, rows done / total and rate of a running migration. */
export const progressQuery = defineQuery<MigrationProgress>('progress');
/** A long activity (backup, index build, verification, promote) reports how far it is. */
export const stepProgressSignal = defineSignal<[StepProgress]>(STEP_PROGRESS_SIGNAL);
