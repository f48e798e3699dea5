import { TemporalFailure } from '@temporalio/common';

/**
 * The innermost message of a Temporal failure chain (ActivityFailure / ChildWorkflowFailure →
 * ApplicationFailure): the one sentence an activity wrote for the user. Workflow-safe; the CLI
 * uses it too.
 */
export function innermostFailureMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof TemporalFailure && current.cause) current = current.cause;
  return String((current as Error)?.message ?? current);
}
