import type { DatabaseTarget } from '../core/connection';
import type { CredentialStore } from '../core/credentials';
import { openPool } from '../core/database/connect';
import { describeDatabaseError } from '../core/database/errors';
import { inspectDatabase, type DatabaseReport } from '../core/database/inspect';
import { toActivityFailure } from './failures';

export interface DoctorActivityDependencies {
  credentials: CredentialStore;
}

export function createDoctorActivities({ credentials }: DoctorActivityDependencies) {
  return {
    /** Connects to the target, creates pgvector if allowed, reports versions. */
    async inspectTarget(target: DatabaseTarget): Promise<DatabaseReport> {
      const pool = openPool(target, credentials, { max: 1, applicationName: 'hybridrag-migrate doctor' });
      try {
        return await inspectDatabase(pool);
      } catch (error) {
        throw toActivityFailure(describeDatabaseError(error, target));
      } finally {
        await pool.end().catch(() => undefined);
      }
    },
  };
}

export type DoctorActivities = ReturnType<typeof createDoctorActivities>;
