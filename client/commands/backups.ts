import { listBackups } from '../../core/backup';
import { describeTarget, parseConnectionString } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import { temporalSettings, workflowUiLink } from '../../core/config';
import { readState } from '../../core/state/stateFile';
import type { RollbackInput, RollbackResult } from '../../workflows/backup';
import { shortBackupId, fullBackupId } from '../backupIds';
import type { DatabaseRef } from '../database';
import { UserError } from '../errors';
import { failureMessage } from '../failures';
import { banner, closingBanner } from '../progress';
import { confirm } from '../prompt';
import { awaitResult, hostWorker, type WorkerHost, type WorkerMode } from '../runner';
import { connectTemporal, runningExecution, startOrAttach } from '../temporal';
import type { CommandIo } from './io';

interface BackupFlags {
  yes: boolean;
  json: boolean;
  worker: WorkerMode;
  connectionString?: string | undefined;
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

async function withTemporal<T>(
  flags: BackupFlags,
  credentials: CredentialStore,
  body: (run: <R>(workflow: string, id: string, args: unknown[]) => Promise<{ result: R; link: string }>) => Promise<T>,
): Promise<T> {
  const settings = temporalSettings(process.env);
  const session = await connectTemporal(settings);
  const hosts: WorkerHost[] = [];
  try {
    return await body(async <R>(workflow: string, id: string, args: unknown[]) => {
      const host = await hostWorker(session, credentials, flags.worker, {
        workflowId: id,
        running: await runningExecution(session, id),
      });
      hosts.push(host);
      const handle = await startOrAttach(session, workflow, { workflowId: id, taskQueue: host.taskQueue, args });
      try {
        return { result: await awaitResult<R>(handle, host, flags.worker), link: workflowUiLink(settings, id) };
      } catch (error) {
        throw new UserError(failureMessage(error));
      }
    });
  } finally {
    for (const host of hosts) await host.stop();
    await session.close();
  }
}

/** `--backup-only`: Phase 1 alone, as a workflow. */
export async function backupOnlyCommand(db: DatabaseRef, flags: BackupFlags, io: CommandIo): Promise<unknown> {
  await confirm(`Create a backup of '${db.name}' (${db.path})?`, flags.yes);
  return withTemporal(flags, new CredentialStore(), async (run) => {
    if (!flags.json) io.out(`Creating backup of '${db.name}'...\n`);
    const { result } = await run<{ backupId: string; files: number; bytes: number }>(
      'backupOnlyWorkflow',
      `backup/${db.name}`,
      [{ databasePath: db.path, databaseName: db.name }],
    );
    const id = shortBackupId(result.backupId);
    if (!flags.json)
      io.out(
        `   ✓ Backup created: ${id} (${result.files} files, ${(result.bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} KB)\n`,
      );
    return { backupId: id, files: result.files, bytes: result.bytes };
  });
}

/** `--rollback BACKUP_ID`: files from the backup, the previous PostgreSQL generation, the registry entry. */
export async function rollbackCommand(
  db: DatabaseRef,
  backupInput: string,
  flags: BackupFlags,
  io: CommandIo,
): Promise<unknown> {
  const backupId = fullBackupId(backupInput, db.name);
  const state = await readState(db.path).catch((error: Error) => {
    throw new UserError(error.message);
  });
  if (state?.workflow_id) {
    // a rollback under a running migration would be overwritten by it (it goes on to promote)
    const session = await connectTemporal(temporalSettings(process.env));
    try {
      if (await runningExecution(session, state.workflow_id)) {
        throw new UserError(
          `A migration of '${db.name}' (job ${state.job_id}) is still running; cancel it first (hybridrag backend cancel ${db.registry ? db.name : `--path ${db.path}`}) and roll back once it has stopped.`,
        );
      }
    } finally {
      await session.close();
    }
  }
  const backups = await listBackups(db.path, db.name).catch(() => []);
  if (!backups.some((b) => b.id === backupId)) {
    throw new UserError(
      `There is no backup ${shortBackupId(backupId)} of '${db.name}'; see hybridrag backend migrate ${db.name} --list-backups.`,
    );
  }
  const credentials = new CredentialStore();
  let target: RollbackInput['target'];
  if (state?.promoted && state.target && state.dimension && state.workspace) {
    const fromState = parseConnectionString(state.target).target;
    const given = flags.connectionString ?? process.env.DATABASE_URL;
    if (given) {
      const parsed = parseConnectionString(given);
      if (parsed.password !== undefined) credentials.remember(fromState, parsed.password);
    }
    target = {
      job: {
        jobId: state.job_id,
        databaseName: db.name,
        databasePath: db.path,
        target: fromState,
        workspace: state.workspace,
        layout: state.layout ?? 'lightrag',
        ...(state.embedding_model ? { embeddingModel: state.embedding_model } : {}),
      },
      dimension: state.dimension,
      ...(state.embedding_model ? { embeddingModel: state.embedding_model } : {}),
    };
  }
  await confirm(
    `Roll '${db.name}' back to backup ${shortBackupId(backupId)}${target ? ` and restore the previous PostgreSQL data in ${describeTarget(target.job.target)}` : ''}?`,
    flags.yes,
  );
  return withTemporal(flags, credentials, async (run) => {
    if (!flags.json) io.out(`${banner(`ROLLBACK of '${db.name}' to backup ${shortBackupId(backupId)}`)}\n`);
    const input: RollbackInput = {
      databasePath: db.path,
      databaseName: db.name,
      backupId,
      jobId: state?.job_id ?? 'none',
      ...(target ? { target } : {}),
      ...(db.registry ? { registry: db.registry } : {}),
    };
    const { result } = await run<RollbackResult>('rollbackWorkflow', `rollback/${db.name}`, [input]);
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
  });
}
