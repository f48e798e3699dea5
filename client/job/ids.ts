import { randomBytes } from 'node:crypto';
import { credentialKey, type DatabaseTarget } from '../../core/connection';

/** One workflow per database and target: running the same command again attaches to it. */
export function migrationWorkflowId(database: string, target: DatabaseTarget, workspace: string): string {
  return `migrate/${database}/${credentialKey(target)}/${target.database}/${workspace}`;
}

/** A new job id: when it started, plus a few random characters. */
export function newJobId(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}-${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  return `job-${stamp}-${randomBytes(2).toString('hex')}`;
}
