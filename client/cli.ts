#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { DoctorFlagsSchema, formatDoctorReport, runDoctor } from './commands/doctor';
import { UserError } from './errors';

const VERSION: string = (require('../../package.json') as { version: string }).version;

/** Parses flags with a zod schema, turning the first problem into one sentence. */
export function parseFlags<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const flag = issue.path.length ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ` : '';
    throw new UserError(`${flag}${issue.message}`, 2);
  }
  return result.data;
}

function buildProgram(): Command {
  const program = new Command('hybridrag')
    .description('Move a HybridRAG / LightRAG database from file storage into PostgreSQL + pgvector, as Temporal workflows.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  program
    .command('doctor')
    .description('Check that Temporal, a worker, PostgreSQL and pgvector are reachable; prints their versions.')
    .option('--connection-string <url>', 'PostgreSQL to check (default: $DATABASE_URL)')
    .option('--temporal-address <host:port>', 'Temporal frontend (default: $TEMPORAL_ADDRESS or 127.0.0.1:7233)')
    .addOption(new Option('--worker <mode>', 'who runs the workflow').choices(['auto', 'embedded', 'external']).default('auto'))
    .option('--json', 'print one JSON object instead of text', false)
    .action(async (options: Record<string, unknown>) => {
      const flags = parseFlags(DoctorFlagsSchema, {
        ...options,
        connectionString: options.connectionString ?? (process.env.DATABASE_URL || undefined),
      });
      const report = await runDoctor(flags);
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : `${formatDoctorReport(report)}\n`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UserError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: unexpected failure: ${(error as Error)?.stack ?? String(error)}\n`);
    return 70;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
