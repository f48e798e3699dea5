import type pg from 'pg';
import type { BackupProgress } from '../core/backup';
import { indexBuildProgress, type IndexBuildReport, type PromotedTable } from '../core/postgres';
import type { CollectionPlan } from '../core/source/plan';
import type { VerifyProgress } from '../core/verify';
import type { StepPart } from '../core/migration/types';
import { rateMeter, stepReporter, type StepReporter } from './stepProgress';

/** How often an index build's progress is read from pg_stat_progress_create_index. */
const INDEX_POLL_MS = 1_000;

/** an index built faster than this is counted with the keys and plain indexes, not listed */
const QUICK_INDEX_MS = 1_000;

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;

/** Backup: bytes read of the source files, and the rate. */
export function backupReports(): { reporter: StepReporter; onProgress: (p: BackupProgress) => void } {
  const reporter = stepReporter();
  let rate = rateMeter();
  let attempt = 1;
  return {
    reporter,
    onProgress(p) {
      if (p.attempt !== attempt) [attempt, rate] = [p.attempt, rateMeter()];
      reporter.report({
        kind: 'backup',
        detail: `reading ${p.file}${p.attempt > 1 ? ` (try ${p.attempt}: a file changed during the backup)` : ''}`,
        done: p.bytesDone,
        total: p.bytesTotal,
        unit: 'bytes',
        perSecond: rate(p.bytesDone),
        parts: [],
      });
    },
  };
}

/**
 * Index build: each finished index with its time, and the one running now as PostgreSQL reports
 * it (phase, tuples or blocks done of total), read every second on a connection of its own.
 */
export function indexBuildReports(
  pool: pg.Pool,
  schema: string,
): {
  reporter: StepReporter;
  onStart: (table: string, index: string) => void;
  onDone: (r: IndexBuildReport) => void;
  stop: () => Promise<void>;
} {
  const reporter = stepReporter();
  const finished: StepPart[] = [];
  // keys and plain indexes take milliseconds each: one part for all of them, a part each for the slow ones
  const quick = { name: 'keys and plain indexes', state: 'done', done: 0, total: 0 };
  let current: { table: string; index: string; rate: (done: number) => number | null } | undefined;
  let polling: Promise<void> | undefined;
  const report = (running?: { phase: string; done: number; total: number; unit: 'tuples' | 'blocks' }) => {
    const parts = quick.done > 0 ? [{ ...quick, total: quick.done }, ...finished] : [...finished];
    if (current)
      parts.push({
        name: current.index,
        state: running?.phase ?? 'starting',
        done: running?.done ?? 0,
        total: running?.total ?? 0,
      });
    reporter.report({
      kind: 'indexes',
      detail: current
        ? `${current.index} on ${current.table}: ${running?.phase ?? 'starting'}`
        : `${finished.length + quick.done} built`,
      done: running?.done ?? 0,
      total: running?.total ?? 0,
      unit: running?.unit ?? 'tuples',
      perSecond: current && running ? current.rate(running.done) : null,
      parts,
    });
  };
  const poll = async () => {
    const now = current;
    if (!now) return;
    const rows = await indexBuildProgress(pool, schema).catch(() => []);
    const row = rows.find((r) => r.table === now.table) ?? rows[0];
    if (!row || current !== now) return;
    const tuples = row.tuplesTotal > 0;
    report({
      phase: row.phase,
      done: tuples ? row.tuplesDone : row.blocksDone,
      total: tuples ? row.tuplesTotal : row.blocksTotal,
      unit: tuples ? 'tuples' : 'blocks',
    });
  };
  const timer = setInterval(() => {
    polling ??= poll().finally(() => (polling = undefined));
  }, INDEX_POLL_MS);
  return {
    reporter,
    onStart(table, index) {
      current = { table, index, rate: rateMeter() };
      report();
    },
    onDone(r) {
      current = undefined;
      if (r.ms < QUICK_INDEX_MS) quick.done += 1;
      else finished.push({ name: r.index, state: `done in ${seconds(r.ms)}`, done: 1, total: 1 });
      report();
    },
    async stop() {
      clearInterval(timer);
      await polling;
      await reporter.flush();
    },
  };
}

/**
 * Verification: per collection, source rows checksummed of its total (the server computes the
 * table's side meanwhile), and source bytes re-read of all the files.
 */
export function verifyReports(sources: { collection: string; plan: CollectionPlan }[]): {
  reporter: StepReporter;
  onProgress: (p: VerifyProgress) => void;
} {
  const reporter = stepReporter();
  const total = sources.reduce((n, s) => n + s.plan.size, 0);
  const rate = rateMeter();
  const parts = new Map<string, StepPart>(
    sources.map((s) => [s.collection, { name: s.collection, state: 'waiting', done: 0, total: s.plan.recordCount }]),
  );
  const bytesDone = new Map<string, number>();
  return {
    reporter,
    onProgress(p) {
      const source = sources.find((s) => s.collection === p.collection);
      const part = parts.get(p.collection);
      if (source && part && p.phase === 'source' && p.batch !== undefined) {
        const batch = source.plan.batches[p.batch];
        part.done = batch?.firstRecord ?? 0;
        bytesDone.set(p.collection, batch?.startOffset ?? 0);
      }
      if (source && part && p.phase !== 'source' && p.phase !== 'target') {
        part.done = part.total;
        bytesDone.set(p.collection, source.plan.size);
      }
      if (part) part.state = VERIFY_STATES[p.phase];
      const done = [...bytesDone.values()].reduce((n, b) => n + b, 0);
      reporter.report({
        kind: 'verify',
        detail: `${p.table}: ${VERIFY_STATES[p.phase]}`,
        done,
        total,
        unit: 'bytes',
        perSecond: rate(done),
        parts: [...parts.values()].map((x) => ({ ...x })),
      });
    },
  };
}

const VERIFY_STATES: Record<VerifyProgress['phase'], string> = {
  target: 'checksumming the table',
  source: 'checksumming the source rows',
  sample: 'comparing a sample field by field',
  diff: 'narrowing down the differences',
};

/** Promote: tables done of all, each with how it moved (swapped in whole, or its rows copied). */
const PROMOTED_AS: Record<PromotedTable['mode'], string> = {
  attach: 'attached as a partition',
  swap: 'swapped in whole',
  rows: 'rows copied',
};

export function promoteReports(tables: string[]): { reporter: StepReporter; onTable: (t: PromotedTable) => void } {
  const reporter = stepReporter();
  const parts = new Map<string, StepPart>(tables.map((t) => [t, { name: t, state: 'waiting', done: 0, total: 0 }]));
  const report = (detail: string) => {
    const done = [...parts.values()].filter((p) => p.state !== 'waiting').length;
    reporter.report({
      kind: 'promote',
      detail,
      done,
      total: tables.length,
      unit: 'tables',
      perSecond: null,
      parts: [...parts.values()].map((x) => ({ ...x })),
    });
  };
  report('taking the locks');
  return {
    reporter,
    onTable(t) {
      const state = PROMOTED_AS[t.mode];
      parts.set(t.table, { name: t.table, state, done: t.rows, total: t.rows });
      report(`${t.table} ${t.mode === 'rows' ? `${t.rows.toLocaleString('en-US')} rows copied` : state}`);
    },
  };
}
