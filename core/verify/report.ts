import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface SampleMismatch {
  id: string;
  /** column name, or '*' when the row itself is missing / extra / repeated */
  column: string;
  /** vector element index when a float differs */
  index?: number;
  source: string;
  target: string;
}

export interface DifferenceList {
  missing: string[];
  extra: string[];
  duplicate: string[];
  changed: string[];
  /** all differing ids (the lists are capped) */
  total: number;
  counts: { missing: number; extra: number; duplicate: number; changed: number };
}

export interface CollectionVerification {
  collection: string;
  table: string;
  passed: boolean;
  /** records read from the source file */
  sourceCount: number;
  /** records the loader refuses by design (mapper/encoder errors, duplicate ids) */
  rejected: number;
  /** the first of them with the reason (NaN vector, over-long key, …): what to fix in the source */
  rejects: { id: string; reason: string }[];
  /** records stored with fitted values (NUL removed, lone surrogate replaced, key renamed, …): compared against the fitted value */
  fitted: { records: number; values: number; listed: { id: string; field: string; change: string }[] };
  /** rows the source should have produced (sourceCount − rejected) */
  expectedCount: number;
  /** rows of this collection in the table */
  targetCount: number;
  /** rows finishStaging added (endpoint nodes), part of targetCount, not a failure */
  added: number;
  checksum: { source: string; target: string; match: boolean };
  sample: { checked: number; mismatches: SampleMismatch[] };
  dimension: { expected: number | null; bad: number };
  differences: DifferenceList | null;
  coverage: string;
}

export interface VerificationReport {
  passed: boolean;
  layout: string;
  workspace: string;
  collections: CollectionVerification[];
  durationMs: number;
}

export const REPORT_DIR = '.migration_reports';

/** Writes `<database>/.migration_reports/<job>.json` atomically (folder 0700, file 0600); returns its path. */
export async function writeReport(databasePath: string, jobId: string, report: VerificationReport): Promise<string> {
  const name = encodeURIComponent(jobId);
  if (!name || name === '.' || name === '..')
    throw new Error(`The job id ${JSON.stringify(jobId)} cannot name a report file.`);
  const dir = path.join(databasePath, REPORT_DIR);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
  const file = path.join(dir, `${name}.json`);
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temp, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  return file;
}

const short = (ids: string[], total: number): string => {
  const shown = ids
    .slice(0, 3)
    .map((id) => JSON.stringify(id.length > 60 ? `${id.slice(0, 57)}...` : id))
    .join(', ');
  return total > 3 ? `${shown} and ${total - 3} more` : shown;
};

/** Records listed as left out in a verification outcome (the count is always exact). */
const LISTED_LEFT_OUT = 100;

/** The totals of fitted values and left-out records over all collections. */
export function verificationOutcome(report: VerificationReport) {
  const c = report.collections;
  return {
    passed: report.passed,
    fittedValues: c.reduce((n, x) => n + x.fitted.values, 0),
    fittedRecords: c.reduce((n, x) => n + x.fitted.records, 0),
    leftOut: c.reduce((n, x) => n + x.rejected, 0),
    leftOutRecords: c
      .flatMap((x) => x.rejects.map((r) => ({ collection: x.collection, ...r })))
      .slice(0, LISTED_LEFT_OUT),
  };
}

/** One line per collection for the screen. */
export function summarizeReport(report: VerificationReport): string[] {
  return report.collections.map((c) => {
    const head = `${c.passed ? 'ok  ' : 'FAIL'} ${c.collection.padEnd(20)} ${String(c.targetCount).padStart(8)} rows`;
    const notes: string[] = [];
    const rejects = c.rejects.length
      ? `: ${short(
          c.rejects.map((r) => r.id),
          Math.max(c.rejected, c.rejects.length),
        )}, e.g. ${c.rejects[0]!.reason}`
      : '';
    notes.push(`${c.expectedCount} expected${c.rejected ? ` (${c.rejected} left out${rejects})` : ''}`);
    if (c.fitted.values)
      notes.push(
        `${c.fitted.values} value${c.fitted.values === 1 ? '' : 's'} fitted in ${short(
          [...new Set(c.fitted.listed.map((f) => f.id))],
          c.fitted.records,
        )}`,
      );
    if (c.added) notes.push(`${c.added} endpoint nodes added`);
    notes.push(c.checksum.match ? 'checksum ok' : 'checksum differs');
    notes.push(
      `sample ${c.sample.checked}${c.sample.mismatches.length ? ` with ${c.sample.mismatches.length} mismatches` : ' ok'}`,
    );
    if (c.dimension.expected !== null)
      notes.push(
        c.dimension.bad ? `${c.dimension.bad} vectors not ${c.dimension.expected}-d` : `dims ${c.dimension.expected}`,
      );
    const d = c.differences;
    if (d && d.total) {
      for (const k of ['missing', 'extra', 'duplicate', 'changed'] as const)
        if (d.counts[k]) notes.push(`${d.counts[k]} ${k}: ${short(d[k], d.counts[k])}`);
    } else if (!c.passed && c.sample.mismatches[0]) {
      const m = c.sample.mismatches[0];
      notes.push(
        `e.g. ${JSON.stringify(m.id)} ${m.column}${m.index !== undefined ? `[${m.index}]` : ''}: ${m.source} ≠ ${m.target}`,
      );
    }
    return `${head}  ${notes.join(', ')}`;
  });
}
