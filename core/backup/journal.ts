/**
 * The restore journal: how a restore swaps verified files into place so that a crash at any
 * moment leaves a usable folder, and how a later call finishes the job.
 *
 * A restore works in `<db>/.restore-<id>-<random>/`:
 *   1. extract every file, verified and fsync-ed, into `files/<rel>`;
 *   2. write `journal.json` atomically — the commit point;
 *   3. move data files that are not in the backup to `.backups/displaced-<id>-<time>/<rel>`;
 *   4. rename each `files/<rel>` over `<db>/<rel>`;
 *   5. delete the restore folder.
 * What a crash leaves:
 *   - before 2: the database folder untouched and a restore folder without a journal, which
 *     recovery simply deletes;
 *   - during 3-4: every file is either its old version or the restored one (rename is atomic), a
 *     displaced file is either in place or in the displaced folder; recovery replays 3-4, which
 *     skips what is already done (its source no longer exists) — the restore rolls forward;
 *   - during 5: everything is in place; recovery deletes what is left of the folder.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InterruptedRestoreError } from './errors';
import { isSafeDataPath, resolveInside } from './files';
import { fsyncDir, pathExists, writeFileAtomic } from './fsutil';
import { BACKUPS_DIR, DISPLACED_DIR_PREFIX, RESTORE_DIR_PREFIX } from './naming';

export const JOURNAL_FILE = 'journal.json';
export const EXTRACT_SUBDIR = 'files';

const SafePath = z.string().refine(isSafeDataPath, 'not a data file path');

export const RestoreJournalSchema = z.object({
  format: z.literal('hybridrag-restore-journal/1'),
  backup_id: z.string(),
  started_at: z.iso.datetime(),
  /** restored files, relative to the database folder */
  files: z.array(SafePath),
  /** data files that are not in the backup, moved aside (relative to the database folder) */
  displaced: z.array(SafePath),
  /** `.backups/displaced-<id>-<time>` */
  displaced_dir: z.string().regex(new RegExp(`^\\${BACKUPS_DIR}/${DISPLACED_DIR_PREFIX}[A-Za-z0-9._-]+$`)),
});
export type RestoreJournal = z.infer<typeof RestoreJournalSchema>;

export interface RestoreFolder {
  dir: string;
  hasJournal: boolean;
}

export async function findRestoreFolders(root: string): Promise<RestoreFolder[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: RestoreFolder[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith(RESTORE_DIR_PREFIX)) continue;
    const dir = path.join(root, e.name);
    found.push({ dir, hasJournal: await pathExists(path.join(dir, JOURNAL_FILE)) });
  }
  return found.sort((a, b) => (a.dir < b.dir ? -1 : 1));
}

export async function writeJournal(restoreDir: string, journal: RestoreJournal): Promise<void> {
  await writeFileAtomic(
    path.join(restoreDir, JOURNAL_FILE),
    `${JSON.stringify(RestoreJournalSchema.parse(journal), null, 2)}\n`,
    0o600,
  );
}

export async function readJournal(restoreDir: string): Promise<RestoreJournal | undefined> {
  try {
    const parsed = RestoreJournalSchema.safeParse(
      JSON.parse(await fsp.readFile(path.join(restoreDir, JOURNAL_FILE), 'utf8')),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export interface ApplyHooks {
  /** Test seam: runs after each restored file was renamed into place (0-based index). */
  afterSwap?: (rel: string, index: number) => void | Promise<void>;
}

/** Steps 3-4 above; idempotent, so recovery can replay it after a crash at any point. */
export async function applyJournal(
  root: string,
  restoreDir: string,
  journal: RestoreJournal,
  hooks: ApplyHooks = {},
): Promise<void> {
  const touched = new Set<string>();
  const displacedRoot = path.join(root, ...journal.displaced_dir.split('/'));
  for (const rel of journal.displaced) {
    const from = resolveInside(root, rel);
    if (!(await pathExists(from))) continue;
    const to = resolveInside(displacedRoot, rel);
    await fsp.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
    await fsp.rename(from, to);
    touched.add(path.dirname(from)).add(path.dirname(to));
  }
  const extracted = path.join(restoreDir, EXTRACT_SUBDIR);
  let index = 0;
  for (const rel of journal.files) {
    const from = resolveInside(extracted, rel);
    const to = resolveInside(root, rel);
    if (await pathExists(from)) {
      await fsp.mkdir(path.dirname(to), { recursive: true });
      await fsp.rename(from, to);
      touched.add(path.dirname(to));
      await hooks.afterSwap?.(rel, index);
    }
    index++;
  }
  for (const dir of touched) await fsyncDir(dir);
}

export type RecoveryAction = 'completed' | 'discarded';

export interface RecoveryResult {
  dir: string;
  backupId?: string;
  /** completed: an interrupted swap was finished; discarded: an unfinished extraction was deleted */
  action: RecoveryAction;
}

/** Finishes or discards every restore folder of `root`. The caller holds the restore lock. */
export async function recoverRestoreFolders(root: string): Promise<RecoveryResult[]> {
  const results: RecoveryResult[] = [];
  for (const folder of await findRestoreFolders(root)) {
    const journal = folder.hasJournal ? await readJournal(folder.dir) : undefined;
    if (folder.hasJournal && !journal) {
      throw new InterruptedRestoreError(
        `The journal of the interrupted restore ${folder.dir} is unreadable, so it cannot be finished safely; compare its files/ folder with ${root} by hand, then delete it.`,
        folder.dir,
      );
    }
    if (journal) {
      await applyJournal(root, folder.dir, journal);
      results.push({ dir: folder.dir, backupId: journal.backup_id, action: 'completed' });
    } else {
      // No (valid) journal: the crash came before the commit point, so the database folder was never touched.
      results.push({ dir: folder.dir, action: 'discarded' });
    }
    await fsp.rm(folder.dir, { recursive: true, force: true });
  }
  if (results.length) await fsyncDir(root);
  return results;
}
