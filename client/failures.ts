import { WorkflowFailedError } from '@temporalio/client';
import { innermostFailureMessage } from '../workflows/failureMessage';

/** The innermost message of a workflow failure: the one sentence an activity wrote for the user. */
export function failureMessage(error: unknown): string {
  return innermostFailureMessage(error instanceof WorkflowFailedError ? (error.cause ?? error) : error);
}
