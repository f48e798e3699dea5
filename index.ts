/** The programmatic API of hybridrag-migrate: the same workflows and core code as the CLI. */
export {
  StagedMigration,
  MigrationJob,
  MigrationVerifier,
  DatabaseBackup,
  previewMigrationOf as previewMigration,
  type MigrationOptions,
} from './client/api';
export type { MigrationPreview } from './core/migration/preview';
export { parseConnectionString, describeTarget, type DatabaseTarget } from './core/connection';
export { CredentialStore } from './core/credentials';
export { TASK_QUEUE, temporalSettings, workflowUiLink } from './core/config';
export { runDoctor, type DoctorReport } from './client/commands/doctor';
export type { MigrationResult } from './workflows/migration';
export type { VerificationReport } from './core/verify';
