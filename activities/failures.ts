import { ApplicationFailure } from '@temporalio/common';
import { DatabaseError } from '../core/database/errors';

/**
 * Maps a core error to what Temporal should do with it: permanent problems fail fast with their
 * message intact, transient ones are retried with the activity's backoff.
 */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof DatabaseError) {
    return error.kind === 'permanent'
      ? ApplicationFailure.nonRetryable(error.message, error.code ?? 'DatabaseError')
      : ApplicationFailure.retryable(error.message, 'TransientDatabaseError');
  }
  return error;
}
