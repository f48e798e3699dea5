import type { CredentialStore } from '../core/credentials';
import { createBackupActivities } from './backup';
import { createDoctorActivities } from './doctor';
import { createMigrationActivities } from './migration';
import type { PoolRegistry } from './pools';

export interface ActivityDependencies {
  credentials: CredentialStore;
  pools: PoolRegistry;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createDoctorActivities(deps),
    ...createMigrationActivities(deps),
    ...createBackupActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
