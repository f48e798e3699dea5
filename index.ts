/** The programmatic API of hybridrag-migrate (the CLI drives the same code). */
export { parseConnectionString, describeTarget, type DatabaseTarget } from './core/connection';
export { CredentialStore } from './core/credentials';
export { TASK_QUEUE, temporalSettings, workflowUiLink } from './core/config';
export { runDoctor, type DoctorReport } from './client/commands/doctor';
