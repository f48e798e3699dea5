import type { BackupCodec } from '../../core/backup';
import { listBackups } from '../../core/backup';
import { describeTarget } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import { shortBackupId } from '../backupIds';
import type { DatabaseRef } from '../database';
import { UserError } from '../errors';
import { prepareRollback, runRollback } from '../job/rollback';
import { runWorkflow } from '../job/run';
import { banner, closingBanner } from '../progress';
import { confirm } from '../prompt';
import type { WorkerMode } from '../runner';
import type { CommandIo } from './io';

interface BackupFlags {
  yes: boolean;
  json: boolean;
  worker: WorkerMode;
  connectionString?: string | undefined;
  backupCompression?: BackupCodec | undefined;
}

/** `--list-backups`: the guide's table, newest first. Reads the .backups folder only. */
export async function listBackupsCommand(db: DatabaseRef, flags: { json: boolean }, io: CommandIo): Promise<unknown> {
  const backups = await listBackups(db.path, db.name).catch((error: Error) => {
    throw new UserError(error.message);
  });
  const rows = backups.map((b) => ({
    id: shortBackupId(b.id),
    files: b.fileCount,
    sizeKb: b.archiveSize / 1024,
    created: b.createdAt,
    problem: b.problem ?? null,
  }));
  if (flags.json) return { database: db.name, backups: rows };
  io.out(`Backups for '${db.name}'\n${'='.repeat(60)}\n`);
  if (rows.length === 0) io.out(`   (none yet: create one with hybridrag backend migrate ${db.name} --backup-only)\n`);
  for (const r of rows) {
    const size = r.sizeKb.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    io.out(
      `   ${r.id.padEnd(20)} | ${String(r.files).padStart(3)} files | ${size} KB | ${r.created.replace(/(\.\d+)?Z$/, '').slice(0, 19)}${r.problem ? ` | damaged: ${r.problem}` : ''}\n`,
    );
  }
  io.out(`${'='.repeat(60)}\n`);
  return { database: db.name, backups: rows };
}

/** `--backup-only`: Phase 1 alone, as a workflow. */
export async function backupOnlyCommand(db: DatabaseRef, flags: BackupFlags, io: CommandIo): Promise<unknown> {
  await confirm(`Create a backup of '${db.name}' (${db.path})?`, flags.yes);
  if (!flags.json) io.out(`Creating backup of '${db.name}'...\n`);
  const result = await runWorkflow<{ backupId: string; files: number; bytes: number }>({
    workflowType: 'backupOnlyWorkflow',
    workflowId: `backup/${db.name}`,
    args: [
      {
        databasePath: db.path,
        databaseName: db.name,
        ...(flags.backupCompression === 'gzip' ? { codec: 'gzip' as const } : {}),
      },
    ],
    credentials: new CredentialStore(),
    worker: flags.worker,
  });
  const id = shortBackupId(result.backupId);
  if (!flags.json)
    io.out(
      `   ✓ Backup created: ${id} (${result.files} files, ${(result.bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} KB)\n`,
    );
  return { backupId: id, files: result.files, bytes: result.bytes };
}

/** `--rollback BACKUP_ID`: files from the backup, the previous PostgreSQL generation, the registry entry. */
export async function rollbackCommand(
  db: DatabaseRef,
  backupInput: string,
  flags: BackupFlags,
  io: CommandIo,
): Promise<unknown> {
  const request = {
    db,
    backupId: backupInput,
    connection: flags.connectionString,
    worker: flags.worker,
    commandName: db.registry ? db.name : `--path ${db.path}`,
  };
  const prepared = await prepareRollback(request);
  const short = shortBackupId(prepared.backupId);
  const target = prepared.input.target;
  await confirm(
    `Roll '${db.name}' back to backup ${short}${target ? ` and restore the previous PostgreSQL data in ${describeTarget(target.job.target)}` : ''}?`,
    flags.yes,
  );
  if (!flags.json) io.out(`${banner(`ROLLBACK of '${db.name}' to backup ${short}`)}\n`);
  const result = await runRollback(request, prepared);
  if (!flags.json) {
    io.out(`   ✓ ${result.filesRestored} files restored from the backup (checksums verified)\n`);
    if (result.displaced.length)
      io.out(`   ✓ ${result.displaced.length} files created after the backup moved aside into .backups/\n`);
    io.out(
      target
        ? `   ✓ PostgreSQL: ${result.postgresRolledBack ? `previous generation restored (${result.tables.length} tables)` : 'nothing was promoted by this job'}\n`
        : '   - PostgreSQL: no promoted migration recorded; left as it is\n',
    );
    if (db.registry) io.out('   ✓ Registry entry switched back to the JSON backend\n');
    io.out(`${closingBanner('✅ ROLLBACK COMPLETED')}\n`);
  }
  return {
    backupId: shortBackupId(result.backupId),
    filesRestored: result.filesRestored,
    displaced: result.displaced,
    postgresRolledBack: result.postgresRolledBack,
  };
}
