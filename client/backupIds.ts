import { parseBackupId } from '../core/backup';
import { UserError } from './errors';

/** The guide's form of a backup id: its timestamp (`20251219_213814`), as printed and accepted by --rollback. */
export function shortBackupId(id: string): string {
  const parsed = parseBackupId(id);
  return parsed ? `${parsed.timestamp}${parsed.seq > 1 ? `_${parsed.seq}` : ''}` : id;
}

/** Accepts `20251219_213814` or the full `{database}_20251219_213814`; refuses anything that could leave the folder. */
export function fullBackupId(input: string, database: string): string {
  if (/[/\\\0]|\.\./.test(input))
    throw new UserError(
      `The backup id "${input}" is not a backup id; use one from --list-backups, e.g. 20251219_213814.`,
      2,
    );
  const full = /^\d{8}_\d{6}(_\d+)?$/.test(input) ? `${database}_${input}` : input;
  const parsed = parseBackupId(full);
  if (!parsed || parsed.database !== database) {
    throw new UserError(
      `The backup id "${input}" is not a backup of '${database}'; use one from hybridrag backend migrate ${database} --list-backups.`,
      2,
    );
  }
  return full;
}
