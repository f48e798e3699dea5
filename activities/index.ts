import type { CredentialStore } from '../core/credentials';
import { createDoctorActivities } from './doctor';

export interface ActivityDependencies {
  credentials: CredentialStore;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createDoctorActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
