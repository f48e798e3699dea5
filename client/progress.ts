import cliProgress from 'cli-progress';
import { shortBackupId } from './backupIds';
import type { MigrationProgress, PhaseTiming, StepProgress } from '../core/migration/types';

const RULE = '='.repeat(60);

export function banner(title: string, subtitle?: string): string {
  return [title, RULE, ...(subtitle ? [subtitle, RULE] : [])].join('\n');
}

export function closingBanner(text: string): string {
  return [RULE, text, RULE].join('\n');
}

const STAGED_TITLES = [
  'Creating backup',
  'Migrating to staging',
  'Verifying staged data',
  'Promoting staging to production',
];
const DIRECT_TITLES = ['Migrating to staging', 'Verifying staged data', 'Promoting staging to production'];

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One line of live staging progress: rows, rate (once measurable), ETA, and the collections loading. */
export function progressLine(p: MigrationProgress): string {
  const loading = p.collections
    .filter((c) => c.state === 'loading')
    .map((c) => `${c.collection} ${formatCount(c.rowsDone)}/${formatCount(c.records)}`);
  const pct = p.rowsTotal > 0 ? Math.floor((100 * p.rowsDone) / p.rowsTotal) : 100;
  const rate = p.rowsPerSecond > 0 ? ` · ${formatCount(p.rowsPerSecond)} rows/s` : '';
  const eta = p.etaSeconds === null || p.rowsPerSecond === 0 ? '' : ` · ETA ${formatDuration(p.etaSeconds)}`;
  return `   ${pct}% · ${formatCount(p.rowsDone)}/${formatCount(p.rowsTotal)} rows${rate}${eta}${loading.length ? ` · ${loading.join(', ')}` : ''}${stateSuffix(p)}`;
}

function stateSuffix(p: MigrationProgress): string {
  if (p.paused) return p.pausing ? ' · PAUSING (what runs finishes first)' : ' · PAUSED';
  return p.cancelRequested ? ' · cancelling' : '';
}

function formatAmount(n: number, unit: StepProgress['unit']): string {
  return unit === 'bytes' ? `${formatCount(Math.round(n / 1e6))} MB` : formatCount(n);
}

/** The running long step in one line: what it does, how far (with its own unit), its rate. */
export function stepLine(s: StepProgress): string {
  const pct = s.total > 0 ? `${Math.floor((100 * s.done) / s.total)}% · ` : '';
  const amount =
    s.total > 0
      ? ` · ${formatAmount(s.done, s.unit)}/${formatAmount(s.total, s.unit)}${s.unit === 'bytes' ? '' : ` ${s.unit}`}`
      : '';
  const rate = s.perSecond ? ` · ${formatAmount(s.perSecond, s.unit)}${s.unit === 'bytes' ? '' : ` ${s.unit}`}/s` : '';
  const left =
    s.perSecond && s.total > s.done ? ` · ETA ${formatDuration(Math.ceil((s.total - s.done) / s.perSecond))}` : '';
  return `   ${pct}${s.detail}${amount}${rate}${left}`;
}

/** The whole job: elapsed and (once planning has sized it) the time left. */
export function jobTime(p: MigrationProgress): string {
  const left = p.jobEtaSeconds === null ? '' : ` · about ${formatDuration(p.jobEtaSeconds)} left`;
  return `${formatDuration(p.elapsedSeconds)} elapsed${left}`;
}

export function jobLine(p: MigrationProgress): string {
  return `job ${jobTime(p)}`;
}

/** The phases so far with their durations, e.g. "Phase 1: Creating backup — 27s". */
export function phaseLines(p: MigrationProgress, now: number): string[] {
  return p.phases.map(
    (t) =>
      `Phase ${t.number}: ${t.title} — ${t.endedAt === null ? `running for ${formatDuration(elapsed(t, now))}` : formatDuration(elapsed(t, now))}`,
  );
}

function elapsed(t: PhaseTiming, now: number): number {
  return Math.max(0, Math.round(((t.endedAt ?? now) - t.startedAt) / 1000));
}

/** The live line of the phase running now: staging rows, or the running step's own progress. */
function liveLine(title: string | undefined, p: MigrationProgress): string | undefined {
  if (p.stepProgress)
    return `${stepLine(p.stepProgress)}${p.alongside ? ` · alongside: ${stepLine(p.alongside).trim()}` : ''}${stateSuffix(p)} · ${jobLine(p)}`;
  if (title === 'Migrating to staging' && p.rowsTotal > 0) return `${progressLine(p)} · ${jobLine(p)}`;
  return undefined;
}

/** Where the printer draws: a terminal gets one redrawn line per phase, anything else plain lines. */
interface PhaseDisplay {
  phaseStarted(number: number, line: string): void;
  live(line: string, fraction: number | null): void;
  phaseDone(line: string): void;
  stop(): void;
}

/** Plain lines (a pipe, a file, a CI log): the live line at most every few seconds, and when a phase ends. */
class PlainDisplay implements PhaseDisplay {
  private last = '';
  private lastAt = -Infinity;
  private pending: string | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly clock: () => number,
    private readonly everyMs: number,
  ) {}

  phaseStarted(_number: number, line: string): void {
    this.write(`\n${line}\n`);
  }

  live(line: string): void {
    if (line === this.last) return;
    const now = this.clock();
    if (now - this.lastAt >= this.everyMs) {
      this.write(`${line}\n`);
      this.last = line;
      this.lastAt = now;
      this.pending = undefined;
    } else this.pending = line;
  }

  phaseDone(line: string): void {
    // the phase's last live line (staging's 100 %) is shown even when it came early
    if (this.pending) this.write(`${this.pending}\n`);
    this.pending = undefined;
    this.write(`${line}\n`);
  }

  stop(): void {}
}

/** A terminal: cli-progress redraws one line per phase in place; finished phases keep their ✓ line. */
class TerminalDisplay implements PhaseDisplay {
  private readonly bars: cliProgress.MultiBar;
  private current: cliProgress.SingleBar | undefined;
  private title = '';

  constructor(write: (text: string) => void) {
    const stream = {
      write: (text: string) => (write(text), true),
      isTTY: true,
      columns: process.stdout.columns || 120,
    };
    this.bars = new cliProgress.MultiBar({
      stream: stream as unknown as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: false,
      linewrap: false,
      barsize: 20,
      format: (options, params, payload: { line: string; bar: boolean }) =>
        payload.bar
          ? `${this.title} ${cliProgress.Format.BarFormat(params.progress, options)} ${payload.line}`
          : payload.line,
    });
  }

  phaseStarted(_number: number, line: string): void {
    this.title = line;
    this.current = this.bars.create(1, 0, { line, bar: false });
  }

  live(line: string, fraction: number | null): void {
    const text = line.trimStart();
    this.current?.update(
      fraction ?? 0,
      fraction === null ? { line: `${this.title} ${text}`, bar: false } : { line: text, bar: true },
    );
  }

  phaseDone(line: string): void {
    this.current?.update(1, { line: `${this.title.replace(/\.\.\.$/, '')}  ${line.trim()}`, bar: false });
    this.current = undefined;
  }

  stop(): void {
    this.bars.stop();
  }
}

/**
 * Turns successive progress snapshots into the guide's `Phase n/N: …` / `✓ …` lines, each finished
 * phase with its duration, and the running phase's live progress: staging rows, or the running
 * step's own (backup bytes, index build tuples, verification rows, promote tables), with the whole
 * job's elapsed and remaining time.
 */
export class PhasePrinter {
  private phaseNumber = 0;
  private readonly display: PhaseDisplay;

  constructor(
    private readonly mode: 'staged' | 'direct',
    write: (text: string) => void,
    isTty: boolean,
    clock: () => number = Date.now,
    plainEveryMs = 3_000,
  ) {
    this.display = isTty ? new TerminalDisplay(write) : new PlainDisplay(write, clock, plainEveryMs);
  }

  private get titles(): string[] {
    return this.mode === 'staged' ? STAGED_TITLES : DIRECT_TITLES;
  }

  private doneLine(phase: number, p: MigrationProgress): string {
    const title = this.titles[phase - 1];
    const timing = p.phases.find((t) => t.number === phase && t.endedAt !== null);
    const took = timing ? ` (${formatDuration(elapsed(timing, 0))})` : '';
    if (p.phase === 'cancelled')
      return '   ✗ Cancelled: the staged batches are kept; run the same command again to resume';
    if (title === 'Creating backup')
      return `   ✓ Backup created: ${p.backupId ? shortBackupId(p.backupId) : '?'}${took}`;
    if (title === 'Migrating to staging')
      return `   ✓ Data migrated to staging tables (${formatCount(p.rowsDone)} records, indexes built)${took}`;
    if (title === 'Verifying staged data')
      return p.phase === 'verification_failed' ? `   ✗ Verification failed${took}` : `   ✓ Verification passed${took}`;
    return `   ✓ Staging tables promoted to production${took}`;
  }

  update(p: MigrationProgress): void {
    const match = /^Phase (\d+)\//.exec(p.step);
    const phase = match ? Number(match[1]) : this.phaseNumber;
    while (phase > this.phaseNumber) {
      if (this.phaseNumber > 0) {
        // staging ends at 100 %: its last line is drawn from the final counts before its ✓
        if (this.titles[this.phaseNumber - 1] === 'Migrating to staging' && p.rowsTotal > 0)
          this.display.live(`${progressLine(p)} · ${jobLine(p)}`, 1);
        this.display.phaseDone(this.doneLine(this.phaseNumber, p));
      }
      this.phaseNumber += 1;
      this.display.phaseStarted(
        this.phaseNumber,
        `Phase ${this.phaseNumber}/${this.titles.length}: ${this.titles[this.phaseNumber - 1]}...`,
      );
    }
    const line = liveLine(this.titles[this.phaseNumber - 1], p);
    if (line) this.display.live(line, fractionOf(this.titles[this.phaseNumber - 1], p));
  }

  /** Closes the last phase with its ✓ (or ✗) line. */
  finish(p: MigrationProgress): void {
    this.update(p);
    if (this.phaseNumber > 0) this.display.phaseDone(this.doneLine(this.phaseNumber, p));
    this.display.stop();
  }
}

function fractionOf(title: string | undefined, p: MigrationProgress): number | null {
  const s = p.stepProgress;
  if (s) return s.total > 0 ? Math.min(1, s.done / s.total) : null;
  if (title === 'Migrating to staging' && p.rowsTotal > 0) return Math.min(1, p.rowsDone / p.rowsTotal);
  return null;
}
