import { shortBackupId } from './backupIds';
import type { MigrationProgress } from '../core/migration/types';

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

/** One line of live progress: rows, rate, ETA, and the collection being loaded. */
export function progressLine(p: MigrationProgress): string {
  const loading = p.collections
    .filter((c) => c.state === 'loading')
    .map((c) => `${c.collection} ${formatCount(c.rowsDone)}/${formatCount(c.records)}`);
  const pct = p.rowsTotal > 0 ? Math.floor((100 * p.rowsDone) / p.rowsTotal) : 100;
  const eta = p.etaSeconds === null ? '' : ` · ETA ${formatDuration(p.etaSeconds)}`;
  const state = p.paused
    ? p.pausing
      ? ' · PAUSING (what runs finishes first)'
      : ' · PAUSED'
    : p.cancelRequested
      ? ' · cancelling'
      : '';
  return `   ${pct}% · ${formatCount(p.rowsDone)}/${formatCount(p.rowsTotal)} rows · ${formatCount(p.rowsPerSecond)} rows/s${eta}${loading.length ? ` · ${loading.join(', ')}` : ''}${state}`;
}

/**
 * Turns successive progress snapshots into the guide's `Phase n/N: …` / `✓ …` lines. On a
 * terminal the live line is rewritten in place; elsewhere it is printed at most every few seconds.
 */
export class PhasePrinter {
  private phaseNumber = 0;
  private lastLive = '';
  private lastLiveAt = 0;
  private liveShown = false;

  constructor(
    private readonly mode: 'staged' | 'direct',
    private readonly write: (text: string) => void,
    private readonly isTty: boolean,
    private readonly clock: () => number = Date.now,
  ) {}

  private get titles(): string[] {
    return this.mode === 'staged' ? STAGED_TITLES : DIRECT_TITLES;
  }

  private clearLive(): void {
    if (this.liveShown && this.isTty) this.write('\r\x1b[2K');
    this.liveShown = false;
  }

  private doneLine(phase: number, p: MigrationProgress): string {
    const title = this.titles[phase - 1];
    if (p.phase === 'cancelled')
      return '   ✗ Cancelled: the staged batches are kept; run the same command again to resume';
    if (title === 'Creating backup') return `   ✓ Backup created: ${p.backupId ? shortBackupId(p.backupId) : '?'}`;
    if (title === 'Migrating to staging')
      return `   ✓ Data migrated to staging tables (${formatCount(p.rowsDone)} records)`;
    if (title === 'Verifying staged data')
      return p.phase === 'verification_failed' ? '   ✗ Verification failed' : '   ✓ Verification passed';
    return '   ✓ Staging tables promoted to production';
  }

  update(p: MigrationProgress): void {
    const match = /^Phase (\d+)\//.exec(p.step);
    const phase = match ? Number(match[1]) : this.phaseNumber;
    while (phase > this.phaseNumber) {
      this.clearLive();
      if (this.phaseNumber > 0) this.write(`${this.doneLine(this.phaseNumber, p)}\n`);
      this.phaseNumber += 1;
      this.write(`\nPhase ${this.phaseNumber}/${this.titles.length}: ${this.titles[this.phaseNumber - 1]}...\n`);
    }
    if (this.titles[this.phaseNumber - 1] === 'Migrating to staging' && p.rowsTotal > 0) {
      const line = progressLine(p);
      const now = this.clock();
      if (this.isTty) {
        if (line !== this.lastLive) this.write(`\r\x1b[2K${line}`);
        this.liveShown = true;
      } else if (line !== this.lastLive && now - this.lastLiveAt >= 5000) {
        this.write(`${line}\n`);
        this.lastLiveAt = now;
      }
      this.lastLive = line;
    }
  }

  /** Closes the last phase with its ✓ (or ✗) line. */
  finish(p: MigrationProgress): void {
    this.update(p);
    this.clearLive();
    if (this.phaseNumber > 0) this.write(`${this.doneLine(this.phaseNumber, p)}\n`);
  }
}
