import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const STATE_FILE_NAME = '.migration_state.json';

/** The phases of the original guide, plus `cancelled` for a job a person stopped. */
export const MIGRATION_PHASES = [
  'initial',
  'prepared',
  'staged',
  'verified',
  'promoted',
  'rolled_back',
  'verification_failed',
  'cancelled',
] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

/**
 * `.migration_state.json`: the human-readable mirror of the workflow's state. Temporal's history
 * is the truth; this file tells a person (and the next run) where a job stands.
 */
export const MigrationStateSchema = z.object({
  phase: z.enum(MIGRATION_PHASES),
  backup_id: z.string().nullable(),
  staging_complete: z.boolean(),
  verification_passed: z.boolean(),
  promoted: z.boolean(),
  errors: z.array(z.string()),
  updated_at: z.string(),
  job_id: z.string(),
  workflow_id: z.string().optional(),
  mode: z.enum(['staged', 'direct']).optional(),
  /** where the job writes, without password: postgres://user@host:port/db */
  target: z.string().optional(),
  workspace: z.string().optional(),
  /** what decides the target tables, so a rollback can find the generation it replaced */
  layout: z.enum(['lightrag', 'hybridrag']).optional(),
  dimension: z.number().int().positive().optional(),
  embedding_model: z.string().optional(),
  /** the vector index built (LightRAG's POSTGRES_VECTOR_INDEX_TYPE follows from it) */
  vector_index: z.enum(['hnsw', 'hnsw_halfvec', 'ivfflat', 'none']).optional(),
  /** batch boundaries (and so the exactly-once markers) depend on it: a resumed job keeps it */
  batch_size: z.number().int().positive().optional(),
});
export type MigrationState = z.infer<typeof MigrationStateSchema>;

export class StateFileError extends Error {
  override name = 'StateFileError';
}

export function stateFilePath(databasePath: string): string {
  return path.join(databasePath, STATE_FILE_NAME);
}

/** The state file of a database folder, or undefined when there is none (a fresh start). */
export async function readState(databasePath: string): Promise<MigrationState | undefined> {
  const file = stateFilePath(databasePath);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StateFileError(`${file} is not valid JSON; delete it to start a fresh migration.`);
  }
  const parsed = MigrationStateSchema.safeParse(json);
  if (!parsed.success) {
    throw new StateFileError(
      `${file} is not a migration state file (${parsed.error.issues[0]?.message}); delete it to start a fresh migration.`,
    );
  }
  return parsed.data;
}

/** Local time without zone or fractions, as the original guide writes it: 2025-12-19T21:45:00. */
export function stateTimestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * Writes the state atomically (temp file, fsync, rename), readable by the owner only: a crash
 * leaves the previous state or the new one, never a torn file.
 */
export async function writeState(databasePath: string, state: MigrationState): Promise<void> {
  const valid = MigrationStateSchema.parse(state);
  const file = stateFilePath(databasePath);
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fs.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(valid, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}
