import type { MigrationPhase } from '../core/state/stateFile';
import { estimatePhases, type PhaseEstimate } from '../core/migration/estimate';
import { jobRemainingSeconds, type Segment, type SegmentTiming } from '../core/migration/jobEstimate';
import type {
  CollectionProgress,
  MigrationProgress,
  PhaseTiming,
  SourceSummary,
  StepKind,
  StepProgress,
} from '../core/migration/types';

/** What decides the job's estimate besides the source: the phases it runs. */
export interface JobShape {
  staged: boolean;
  verify: boolean;
  vectorIndex: boolean;
}

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
  private stagingStartedAt: number | undefined;
  private phaseTimings: PhaseTiming[] = [];
  private segments: SegmentTiming[] = [];
  private estimate: PhaseEstimate | undefined;
  /** the long step whose activity may report progress now, and what it last reported */
  private expectedStep: StepKind | null = null;
  private stepReport: StepProgress | null = null;
  /** a step started ahead of its phase: its reports are shown beside the running step's */
  private alongsideStep: StepKind | null = null;
  private alongsideReport: StepProgress | null = null;

  constructor(
    readonly jobId: string,
    private readonly startedAt: number,
    private readonly shape: JobShape = { staged: true, verify: true, vectorIndex: true },
  ) {}

  /** The job enters phase `number` ("Phase 2/4: Migrating to staging"): the previous one ends. */
  phaseStarted(number: number, title: string, now: number): void {
    const last = this.phaseTimings.at(-1);
    if (last?.number === number) return;
    if (last && last.endedAt === null) last.endedAt = now;
    this.phaseTimings.push({ number, title, startedAt: now, endedAt: null });
  }

  /** The job ends (promoted, failed verification, cancelled, stopped): its last phase ends. */
  ended(now: number): void {
    const last = this.phaseTimings.at(-1);
    if (last && last.endedAt === null) last.endedAt = now;
    const segment = this.segments.at(-1);
    if (segment && segment.endedAt === null) segment.endedAt = now;
  }

  /** A part of the job with its own estimate begins (the one before it ends). */
  segmentStarted(segment: Segment, now: number): void {
    const last = this.segments.at(-1);
    if (last?.segment === segment) return;
    if (last && last.endedAt === null) last.endedAt = now;
    this.segments.push({ segment, startedAt: now, endedAt: null });
    if (segment === 'staging') this.stagingStartedAt = now;
  }

  /** A long step starts (its activity's progress reports are taken) or ends (kind null). */
  expectStep(kind: StepKind | null): void {
    this.expectedStep = kind;
    // the step that ran alongside becomes the running one, with what it last reported
    this.stepReport = kind !== null && kind === this.alongsideStep ? this.alongsideReport : null;
    if (kind !== null && kind === this.alongsideStep) this.expectAlongside(null);
  }

  /** A step starts ahead of its phase, alongside the running one (or none is, kind null). */
  expectAlongside(kind: StepKind | null): void {
    this.alongsideStep = kind;
    this.alongsideReport = null;
  }

  /** A long activity reports its progress; a late report of a step that has ended is dropped. */
  stepProgress(report: StepProgress): void {
    if (report.kind === this.expectedStep) this.stepReport = report;
    else if (report.kind === this.alongsideStep) this.alongsideReport = report;
  }

  planned(summary: SourceSummary): void {
    this.estimate = estimatePhases({
      bytes: summary.collections.reduce((n, c) => n + c.bytes, 0),
      rows: summary.collections.reduce((n, c) => n + c.records, 0),
      vectors: summary.collections.flatMap((c) =>
        c.dimension !== undefined ? [{ count: c.records, dim: c.dimension }] : [],
      ),
      vectorIndex: this.shape.vectorIndex,
      staged: this.shape.staged,
      verify: this.shape.verify,
    });
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
      // the rate counts from the start of staging, so the first report already has one
      this.loadStartedAt = this.stagingStartedAt ?? now;
      this.rowsAtLoadStart = this.stagingStartedAt !== undefined ? 0 : this.rowsDone;
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
      stepProgress: copyReport(this.stepReport),
      alongside: copyReport(this.alongsideReport),
      phases: this.phaseTimings.map((t) => ({ ...t })),
      elapsedSeconds: Math.max(0, Math.round((now - this.startedAt) / 1000)),
      jobEtaSeconds: this.jobEta(now, rate),
    };
  }

  /** Seconds left for the whole job; null before planning has sized it. */
  private jobEta(now: number, rate: number): number | null {
    if (!this.estimate) return null;
    const current = this.segments.at(-1);
    if (current && current.endedAt !== null) return 0;
    let currentLeft: number | null = null;
    const left = this.rowsTotal - this.rowsDone;
    if (current?.segment === 'staging' && rate > 0) currentLeft = left / rate;
    const r = this.stepReport;
    if (r && r.kind !== 'indexes' && r.perSecond && r.perSecond > 0) currentLeft = (r.total - r.done) / r.perSecond;
    return jobRemainingSeconds(this.estimate, this.segments, currentLeft, now);
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
    lines.push('', jobLine(p));
    if (p.stepProgress) lines.push('', ...stepLines(p.stepProgress));
    if (p.alongside) lines.push('', 'alongside:', ...stepLines(p.alongside));
    if (p.collections.length) lines.push('');
    for (const c of p.collections) lines.push(`- ${c.collection}: ${c.rowsDone} of ${c.records} (${c.state})`);
    return lines.join('\n');
  }
}

function copyReport(r: StepProgress | null): StepProgress | null {
  return r ? { ...r, parts: r.parts.map((x) => ({ ...x })) } : null;
}

function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

function jobLine(p: MigrationProgress): string {
  return `job: ${clock(p.elapsedSeconds)} elapsed${p.jobEtaSeconds !== null ? ` · about ${clock(p.jobEtaSeconds)} left` : ''}`;
}

/** The running step in the UI's markdown: its total, then one list item per part (index, table, file). */
function stepLines(s: StepProgress): string[] {
  const count = (n: number) => n.toLocaleString('en-US');
  const pct = s.total > 0 ? ` (${Math.floor((100 * s.done) / s.total)}%)` : '';
  const head = `${s.kind}: ${s.detail} · ${count(s.done)} of ${count(s.total)} ${s.unit}${pct}`;
  const parts = s.parts.map(
    (x) => `- ${x.name}: ${x.state}${x.total > 0 ? ` · ${count(x.done)} of ${count(x.total)}` : ''}`,
  );
  return parts.length ? [head, '', ...parts] : [head];
}
