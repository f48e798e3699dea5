import { defineSignal } from '@temporalio/workflow';

/** Control messages every migration workflow and its collection children understand. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Stops scheduling new batches; running ones finish; the job stays resumable. */
export const cancelSignal = defineSignal('cancel');
