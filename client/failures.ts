import { TemporalFailure, WorkflowFailedError } from '@temporalio/client';

/** The innermost message of a workflow failure: the one sentence an activity wrote for the user. */
export function failureMessage(error: unknown): string {
  let current: unknown = error instanceof WorkflowFailedError ? error.cause ?? error : error;
  while (current instanceof TemporalFailure && current.cause) current = current.cause;
  return String((current as Error)?.message ?? current);
}
