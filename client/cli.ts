#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { DoctorFlagsSchema, formatDoctorReport, runDoctor } from './commands/doctor';
import { controlCommand, statusCommand } from './commands/control';
import { setupDockerCommand } from './commands/setupDocker';
import type { CommandIo } from './commands/io';
import { migrateCommand, MigrateFlagsSchema } from './commands/migrate';
import { JOB_DEFAULTS } from '../core/config';
import { UserError } from './errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json lies outside the compiled tree
const VERSION: string = (require('../../package.json') as { version: string }).version;

/** Parses flags with a zod schema, turning the first problem into one sentence. */
export function parseFlags<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const flag = issue.path.length
      ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: `
      : '';
    throw new UserError(`${flag}${issue.message}`, 2);
  }
  return result.data;
}

function buildProgram(): Command {
  const program = new Command('hybridrag')
    .description(
      'Move a HybridRAG / LightRAG database from file storage into PostgreSQL + pgvector, as Temporal workflows.',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
  const io: CommandIo = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    isTty: Boolean(process.stdout.isTTY),
  };

  program
    .command('doctor')
    .description('Check that Temporal, a worker, PostgreSQL and pgvector are reachable; prints their versions.')
    .option('--connection-string <url>', 'PostgreSQL to check (default: $DATABASE_URL)')
    .option('--temporal-address <host:port>', 'Temporal frontend (default: $TEMPORAL_ADDRESS or 127.0.0.1:7233)')
    .addOption(
      new Option('--worker <mode>', 'who runs the workflow').choices(['auto', 'embedded', 'external']).default('auto'),
    )
    .option('--json', 'print one JSON object instead of text', false)
    .action(async (options: Record<string, unknown>) => {
      const flags = parseFlags(DoctorFlagsSchema, {
        ...options,
        connectionString: options.connectionString ?? (process.env.DATABASE_URL || undefined),
      });
      const report = await runDoctor(flags);
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : `${formatDoctorReport(report)}\n`);
    });

  const backend = program.command('backend').description('Move a database between storage backends.');
  backend
    .command('migrate')
    .argument('[name]', 'database name in the HybridRAG registry')
    .description('Migrate a LightRAG / HybridRAG database from JSON files into PostgreSQL + pgvector.')
    .option('--connection-string <url>', 'PostgreSQL connection string (default: $DATABASE_URL)')
    .option('--batch-size <n>', 'records per batch', String(JOB_DEFAULTS.batchSize))
    .option('--dry-run', 'preview only: read the files, write nothing', false)
    .option('--skip-verify', 'promote without comparing staging with the source', false)
    .option('--strict', 'promote only if every record is stored exactly (no value fitted, no record left out)', false)
    .option('--resume <job>', 'resume a specific job (also a failed one), keeping its completed batches')
    .option('--pause-watcher', 'pause the HybridRAG watcher during the migration (default)')
    .option('--no-pause-watcher', 'leave the watcher running')
    .option('-y, --yes', 'skip confirmation prompts', false)
    .option('--staged', 'backup → staging → verify → promote', false)
    .option('--backup-only', 'create a backup without migrating', false)
    .option('--rollback <backup-id>', 'restore the JSON files and the previous PostgreSQL generation from a backup')
    .option('--list-backups', 'list the backups of the database', false)
    .option('--path <dir>', 'a LightRAG working directory that is not in the registry')
    .addOption(new Option('--layout <layout>', 'target tables').choices(['lightrag', 'hybridrag']).default('lightrag'))
    .option('--workspace <name>', `LightRAG workspace of the rows (default: '${JOB_DEFAULTS.workspace}')`)
    .option('--embedding-model <model>', "write vectors to LightRAG's model-suffixed tables")
    .addOption(
      new Option(
        '--high-dimension-index <kind>',
        'vectors over 2000 dimensions: halfvec = stored as halfvec with an HNSW index (LightRAG: POSTGRES_VECTOR_INDEX_TYPE=HNSW_HALFVEC), none = exact, no index',
      )
        .choices(['none', 'halfvec'])
        .default('none'),
    )
    .addOption(
      new Option(
        '--backup-compression <codec>',
        'the backup archive: none = plain .tar (fast; embeddings barely compress), gzip = .tar.gz (about 40 % smaller, several times slower)',
      )
        .choices(['none', 'gzip'])
        .default('none'),
    )
    .option('--parallelism <n>', 'load activities at once per collection', String(JOB_DEFAULTS.parallelism))
    .option(
      '--batches-per-activity <n>',
      'consecutive batches one load activity takes (default: about 64 MiB of source)',
    )
    .addOption(
      new Option('--worker <mode>', 'who runs the workflow').choices(['auto', 'embedded', 'external']).default('auto'),
    )
    .option('--json', 'print one JSON object with the result', false)
    .action(async (name: string | undefined, options: Record<string, unknown>) => {
      const flags = parseFlags(MigrateFlagsSchema, { ...options, name, pauseWatcher: options.pauseWatcher !== false });
      const result = await migrateCommand(flags, io);
      if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      // a promoted run that left records out ends with its own code (EXIT_RECORDS_LEFT_OUT)
      if (result && typeof result === 'object' && 'exitCode' in result && typeof result.exitCode === 'number')
        commandExitCode = result.exitCode;
    });

  backend
    .command('status')
    .argument('[name]', 'database name in the HybridRAG registry')
    .description('Show the phase, progress, job id and Temporal UI link of a migration.')
    .option('--path <dir>', 'a LightRAG working directory that is not in the registry')
    .option('--json', 'print one JSON object', false)
    .action(async (name: string | undefined, options: { path?: string; json: boolean }) => {
      const report = await statusCommand(name, options.path, options.json, io);
      if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    });
  backend
    .command('setup-docker')
    .description(
      'Start PostgreSQL + pgvector, Temporal, its UI and a worker with Docker Compose (where a Docker engine runs).',
    )
    .action(() => setupDockerCommand(io));
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    backend
      .command(action)
      .argument('[name]', 'database name in the HybridRAG registry')
      .description(
        action === 'pause'
          ? 'Pause a running migration: queued batches are cancelled (loaded after resume), running ones finish; returns once none runs.'
          : action === 'resume'
            ? 'Resume a paused migration.'
            : 'Cancel a running migration; its staged batches are kept so it can be resumed.',
      )
      .option('--path <dir>', 'a LightRAG working directory that is not in the registry')
      .option('--json', 'print one JSON object', false)
      .action(async (name: string | undefined, options: { path?: string; json: boolean }) => {
        const result = await controlCommand(
          action,
          name,
          options.path,
          options.json ? { ...io, out: () => undefined } : io,
        );
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      });
  }

  return program;
}

/** Set by a command whose success still calls for a non-zero exit code. */
let commandExitCode = 0;

export async function main(argv: string[]): Promise<number> {
  commandExitCode = 0;
  try {
    await buildProgram().parseAsync(argv);
    return commandExitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UserError) {
      process.stderr.write(`error: ${error.message}\n`);
      // Scripts reading --json get one machine-readable object on failure too.
      if (argv.includes('--json'))
        process.stdout.write(`${JSON.stringify({ ok: false, error: error.message, exitCode: error.exitCode })}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    return 70;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
