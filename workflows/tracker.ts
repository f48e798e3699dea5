import type { MigrationPhase } from '../core/state/stateFile';
import type { CollectionProgress, MigrationProgress, SourceSummary } from '../core/migration/types';

/**
 * The migration workflow's state and message handlers, as a plain class: deterministic, no I/O,
 * unit-testable without a server. Time comes in as arguments (workflow time).
 */
export class MigrationTracker {
  phase: MigrationPhase = 'initial';
  step = 'starting';
  paused = false;
  cancelRequested = false;
  backupId: string | null = null;
  errors: string[] = [];
  private collections = new Map<string, CollectionProgress>();
  /** long steps running now (backup, planning, index build, verify, promote): a pause waits for them */
  stepsRunning = 0;
  /** collections that were loading when the pause came and have not yet said their loads stopped */
  private stopping = new Set<string>();
  private loadStartedAt: number | undefined;
  private rowsAtLoadStart = 0;
  private lastRowsAt: number | undefined;

  constructor(readonly jobId: string) {}

  planned(summary: SourceSummary): void {
    this.collections = new Map(
      summary.collections.map((c) => [
        c.collection,
        {
          collection: c.collection,
          records: c.records,
          batches: c.batches,
          batchesDone: 0,
          rowsDone: 0,
          rejected: 0,
          state: 'waiting',
        },
      ]),
    );
  }

  /** A collection child reports finished batches (rows counts records read, loaded or rejected). */
  batchLoaded(collection: string, rows: number, rejected: number, now: number, batches = 1): void {
    const c = this.collections.get(collection);
    if (!c) return;
    if (this.loadStartedAt === undefined) {
      this.loadStartedAt = now;
      this.rowsAtLoadStart = this.rowsDone;
    }
    c.state = 'loading';
    c.batchesDone += batches;
    c.rowsDone += rows;
    c.rejected += rejected;
    this.lastRowsAt = now;
  }

  collectionDone(collection: string, state: 'done' | 'cancelled'): void {
    const c = this.collections.get(collection);
    if (c) c.state = state;
    this.stopping.delete(collection);
  }

  /** A pause: the collections loading now (their children) are stopping until they say otherwise. */
  pause(loading: Iterable<string>): void {
    // a pause of a paused job changes nothing (the children have reported once already)
    if (this.paused) return;
    this.paused = true;
    this.stopping = new Set(loading);
  }

  resume(): void {
    this.paused = false;
    this.stopping.clear();
  }

  /** A collection child has, since the pause, no load activity running. */
  loadsStopped(collection: string): void {
    this.stopping.delete(collection);
  }

  get rowsDone(): number {
    let n = 0;
    for (const c of this.collections.values()) n += c.rowsDone;
    return n;
  }

  get rowsTotal(): number {
    let n = 0;
    for (const c of this.collections.values()) n += c.records;
    return n;
  }

  rate(now: number): number {
    if (this.loadStartedAt === undefined) return 0;
    const end = this.lastRowsAt !== undefined && this.rowsDone >= this.rowsTotal ? this.lastRowsAt : now;
    const seconds = (end - this.loadStartedAt) / 1000;
    return seconds > 0 ? (this.rowsDone - this.rowsAtLoadStart) / seconds : 0;
  }

  progress(now: number): MigrationProgress {
    const rate = this.rate(now);
    const left = this.rowsTotal - this.rowsDone;
    return {
      jobId: this.jobId,
      phase: this.phase,
      step: this.step,
      paused: this.paused,
      pausing: this.paused && (this.stopping.size > 0 || this.stepsRunning > 0),
      cancelRequested: this.cancelRequested,
      collections: [...this.collections.values()].map((c) => ({ ...c })),
      rowsDone: this.rowsDone,
      rowsTotal: this.rowsTotal,
      rowsPerSecond: Math.round(rate),
      etaSeconds: rate > 0 && left > 0 ? Math.ceil(left / rate) : left === 0 ? 0 : null,
      backupId: this.backupId,
      errors: [...this.errors],
    };
  }

  /**
   * Markdown for the Temporal UI's current details. The UI's markdown turns "1/3" into a fraction
   * glyph and runs a list on from the paragraph before it: counts are written "1 of 3" and the
   * list stands after a blank line.
   */
  details(now: number): string {
    const p = this.progress(now);
    const step = p.step.replace(/(\d+)\/(\d+)/g, '$1 of $2');
    const lines = [
      `**${step}**${p.paused ? (p.pausing ? ' — pausing (what runs finishes first)' : ' — paused') : ''}${p.cancelRequested ? ' — cancelling' : ''}`,
      '',
    ];
    lines.push(
      `phase: ${p.phase} · rows ${p.rowsDone.toLocaleString('en-US')} of ${p.rowsTotal.toLocaleString('en-US')} · ${p.rowsPerSecond.toLocaleString('en-US')} rows/s${p.etaSeconds !== null ? ` · ETA ${p.etaSeconds}s` : ''}`,
    );
    if (p.collections.length) lines.push('');
    for (const c of p.collections) lines.push(`- ${c.collection}: ${c.rowsDone} of ${c.records} (${c.state})`);
    return lines.join('\n');
  }
}
