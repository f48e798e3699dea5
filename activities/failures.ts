import { ApplicationFailure } from '@temporalio/common';
import { BackupError } from '../core/backup';
import type { DatabaseTarget } from '../core/connection';
import { DatabaseError, describeDatabaseError } from '../core/database/errors';
import { SourceError } from '../core/source/errors';
import { TargetError } from '../core/postgres/errors';
import { IdentifierError } from '../core/postgres/identifiers';

/**
 * Maps a core error to what Temporal should do with it: permanent problems (corrupt file,
 * dimension conflict, missing pgvector, bad password) fail fast with their message intact,
 * transient ones (connection reset, server restart) are retried with the activity's backoff.
 */
export function toActivityFailure(error: unknown): unknown {
  // Most backup errors are the user's to fix (disk full, damaged archive, unsafe entries); the few
  // core/backup marks retryable (a file still being written, a held restore lock) are retried.
  if (error instanceof BackupError) {
    return error.retryable
      ? ApplicationFailure.retryable(error.message, error.name)
      : ApplicationFailure.nonRetryable(error.message, error.name, error.toJSON());
  }
  if (error instanceof SourceError) return ApplicationFailure.nonRetryable(error.message, error.code, error.toJSON());
  if (error instanceof IdentifierError) return ApplicationFailure.nonRetryable(error.message, 'InvalidIdentifier');
  if (error instanceof DatabaseError || error instanceof TargetError) {
    return error.kind === 'permanent'
      ? ApplicationFailure.nonRetryable(error.message, error.code ?? error.name)
      : ApplicationFailure.retryable(error.message, 'TransientDatabaseError');
  }
  return error;
}

/** Runs an activity body, classifying whatever it throws (raw driver errors through the target). */
export async function classified<T>(target: DatabaseTarget | undefined, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const known =
      error instanceof BackupError ||
      error instanceof SourceError ||
      error instanceof TargetError ||
      error instanceof DatabaseError ||
      error instanceof IdentifierError;
    const isDriverError = typeof (error as { code?: unknown })?.code === 'string';
    throw toActivityFailure(!known && isDriverError && target ? describeDatabaseError(error, target) : error);
  }
}
