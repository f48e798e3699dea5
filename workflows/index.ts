export { doctorWorkflow } from './doctor';
export { migrationWorkflow } from './migration';
export { collectionLoadWorkflow } from './collection';
export { backupOnlyWorkflow, rollbackWorkflow } from './backup';
