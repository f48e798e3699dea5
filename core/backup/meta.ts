/**
 * `{id}.meta.json`: what a backup holds, with a sha256 per file, so a restore can prove the
 * archive is intact before it touches anything. No connection strings, no secrets.
 */
import { promises as fsp } from 'node:fs';
import { z } from 'zod';
import { InvalidBackupMetaError } from './errors';
import { isSafeDataPath } from './files';
import { archiveName, metaPath, parseBackupId, type BackupCodec } from './naming';

export const BACKUP_FORMAT = 'hybridrag-backup/1';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lower-case hex digits');
const Size = z.number().int().nonnegative();

export const BackupFileSchema = z.object({
  path: z
    .string()
    .refine(isSafeDataPath, 'a file path must be a LightRAG data file in the folder or one workspace sub-folder'),
  size: Size,
  sha256: Sha256,
  /** permission bits of the source file, applied again on restore */
  mode: z.number().int().min(0).max(0o7777),
  mtime: z.iso.datetime(),
});
export type BackupFile = z.infer<typeof BackupFileSchema>;

export const BackupMetaSchema = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    id: z.string(),
    database: z.string(),
    source_path: z.string(),
    created_at: z.iso.datetime(),
    tool_version: z.string(),
    file_count: Size,
    total_size: Size,
    files: z.array(BackupFileSchema),
    archive: z.object({
      file: z.string(),
      size: Size,
      sha256: Sha256,
      /** how the tar stream is stored; absent in backups made before it was recorded, which are all gzip */
      codec: z.enum(['gzip', 'none']).optional(),
    }),
  })
  .superRefine((meta, ctx) => {
    const parsed = parseBackupId(meta.id);
    if (!parsed || parsed.database !== meta.database)
      ctx.addIssue({ code: 'custom', message: `id ${meta.id} does not belong to database ${meta.database}` });
    const file = archiveName(meta.id, meta.archive.codec ?? 'gzip');
    if (meta.archive.file !== file) ctx.addIssue({ code: 'custom', message: `archive.file must be ${file}` });
    if (meta.file_count !== meta.files.length)
      ctx.addIssue({ code: 'custom', message: `file_count ${meta.file_count} != ${meta.files.length} files listed` });
    const total = meta.files.reduce((sum, f) => sum + f.size, 0);
    if (meta.total_size !== total)
      ctx.addIssue({ code: 'custom', message: `total_size ${meta.total_size} != sum of file sizes ${total}` });
    if (new Set(meta.files.map((f) => f.path)).size !== meta.files.length)
      ctx.addIssue({ code: 'custom', message: 'a file is listed twice' });
  });
export type BackupMeta = z.infer<typeof BackupMetaSchema>;

/** How the backup's archive is stored (gzip when the meta predates the field). */
export function codecOf(meta: BackupMeta): BackupCodec {
  return meta.archive.codec ?? 'gzip';
}

/** Reads and validates the meta file of `id`; a missing file is reported as `undefined`. */
export async function readMeta(dbPath: string, id: string): Promise<BackupMeta | undefined> {
  const file = metaPath(dbPath, id);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidBackupMetaError(
      `The meta file ${file} of backup ${id} is not valid JSON; the backup cannot be verified, so restore another backup.`,
      id,
      file,
    );
  }
  const parsed = BackupMetaSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw new InvalidBackupMetaError(
      `The meta file ${file} of backup ${id} is invalid (${where}${issue?.message ?? 'unknown problem'}); the backup cannot be verified, so restore another backup.`,
      id,
      file,
    );
  }
  if (parsed.data.id !== id) {
    throw new InvalidBackupMetaError(
      `The meta file ${file} describes backup ${parsed.data.id}, not ${id}; the backup cannot be verified, so restore another backup.`,
      id,
      file,
    );
  }
  return parsed.data;
}
