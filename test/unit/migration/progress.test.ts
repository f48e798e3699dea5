import { describe, expect, it } from 'vitest';
import { PhasePrinter, stepLine } from '../../../client/progress';
import { jobRemainingSeconds } from '../../../core/migration/jobEstimate';
import type { PhaseEstimate } from '../../../core/migration/estimate';
import type { StepProgress } from '../../../core/migration/types';
import { MigrationTracker } from '../../../workflows/tracker';

function tracker(records = 1000): MigrationTracker {
  const t = new MigrationTracker('job-1', 0, { staged: true, verify: true, vectorIndex: true });
  t.planned({
    collections: [
      { collection: 'vdb_chunks', file: 'v', bytes: 55e6, records, batches: 2, planFile: 'p', dimension: 1536 },
      { collection: 'text_chunks', file: 't', bytes: 55e6, records, batches: 2, planFile: 'p' },
    ],
    absent: [],
    dimension: 1536,
    dimensionSource: 'matrix',
  });
  return t;
}

const indexReport = (done: number): StepProgress => ({
  kind: 'indexes',
  detail: 'idx_hnsw on lightrag_vdb_chunks_staging: building index: loading tuples',
  done,
  total: 600,
  unit: 'blocks',
  perSecond: 30,
  parts: [{ name: 'idx_hnsw', state: 'building index: loading tuples', done, total: 600 }],
});

describe('step progress in the tracker', () => {
  it('takes the reports of the step that runs and drops a late one of a step that has ended', () => {
    const t = tracker();
    t.stepProgress(indexReport(10));
    expect(t.progress(0).stepProgress).toBeNull();
    t.expectStep('indexes');
    t.stepProgress(indexReport(120));
    expect(t.progress(0).stepProgress).toMatchObject({ kind: 'indexes', done: 120, total: 600 });
    expect(t.details(0)).toContain('indexes: idx_hnsw on lightrag_vdb_chunks_staging: building index: loading tuples');
    expect(t.details(0)).toContain('120 of 600 blocks (20%)');
    t.expectStep(null);
    t.stepProgress(indexReport(600));
    expect(t.progress(0).stepProgress).toBeNull();
  });

  it('shows a step started ahead of its phase beside the running one, and hands its last report on when its phase comes', () => {
    const t = tracker();
    const verifyReport: StepProgress = {
      kind: 'verify',
      detail: 'vdb_chunks: checksumming the source rows',
      done: 20e6,
      total: 55e6,
      unit: 'bytes',
      perSecond: 10e6,
      parts: [],
    };
    t.expectStep('indexes');
    t.expectAlongside('verify');
    t.stepProgress(indexReport(120));
    t.stepProgress(verifyReport);
    expect(t.progress(0)).toMatchObject({
      stepProgress: { kind: 'indexes' },
      alongside: { kind: 'verify', done: 20e6 },
    });
    expect(t.details(0)).toMatch(/alongside:\n.*checksumming the source rows/);
    t.expectStep(null);
    t.expectStep('verify');
    expect(t.progress(0)).toMatchObject({ stepProgress: { kind: 'verify', done: 20e6 }, alongside: null });
  });

  it('times each phase and counts the staging rate from the start of staging', () => {
    const t = tracker();
    t.phaseStarted(1, 'Creating backup', 0);
    t.phaseStarted(2, 'Migrating to staging', 4_000);
    t.segmentStarted('staging', 4_000);
    t.batchLoaded('vdb_chunks', 500, 0, 5_000);
    // the first report already has a rate: 500 rows since staging started 1 s before
    expect(t.progress(5_000).rowsPerSecond).toBe(500);
    t.ended(9_000);
    expect(t.progress(9_000).phases).toEqual([
      { number: 1, title: 'Creating backup', startedAt: 0, endedAt: 4_000 },
      { number: 2, title: 'Migrating to staging', startedAt: 4_000, endedAt: 9_000 },
    ]);
    expect(t.progress(9_000).elapsedSeconds).toBe(9);
  });

  it('estimates the whole job once planning has sized it, and the estimate shrinks as it runs', () => {
    const t = new MigrationTracker('job-1', 0);
    expect(t.progress(0).jobEtaSeconds).toBeNull();
    const sized = tracker(100_000);
    sized.segmentStarted('staging', 0);
    const early = sized.progress(1_000).jobEtaSeconds!;
    // 100,000 of 200,000 rows in 2 s: the 2 s left measured replace the 12 s left estimated
    sized.batchLoaded('vdb_chunks', 100_000, 0, 2_000);
    const later = sized.progress(2_000).jobEtaSeconds!;
    expect(early).toBeGreaterThan(0);
    expect(later).toBeLessThan(early);
  });
});

describe('jobRemainingSeconds', () => {
  const estimate: PhaseEstimate = { backup: 10, planning: 2, staging: 20, indexBuild: 40, verify: 8, total: 80 };

  it('is the sum of the estimates before anything ran (promote counted as 2 s)', () => {
    expect(jobRemainingSeconds(estimate, [], null, 0)).toBe(82);
  });

  it('scales what is still to come by how this run compares with the estimates', () => {
    // the backup took 20 s instead of 10: this machine runs at half the estimated speed
    const timings = [
      { segment: 'backup' as const, startedAt: 0, endedAt: 20_000 },
      { segment: 'planning' as const, startedAt: 20_000, endedAt: null },
    ];
    expect(jobRemainingSeconds(estimate, timings, null, 20_000)).toBe(2 * (2 + 20 + 40 + 8 + 2));
    // the running segment's own measured time left replaces its estimate
    expect(jobRemainingSeconds(estimate, timings, 1, 20_000)).toBe(1 + 2 * (20 + 40 + 8 + 2));
  });
});

describe('PhasePrinter, piped', () => {
  const progress = (over: Partial<ReturnType<MigrationTracker['progress']>>) => ({
    ...tracker().progress(0),
    ...over,
  });

  it('prints at most one live line every 3 s, and staging ends with its 100 % line and the phase duration', () => {
    let now = 0;
    const out: string[] = [];
    const printer = new PhasePrinter(
      'direct',
      (s) => out.push(s),
      false,
      () => now,
    );
    const staging = { step: 'Phase 1/3: staging vdb_chunks', rowsTotal: 2000 };
    printer.update(progress({ ...staging, rowsDone: 100, rowsPerSecond: 0 }));
    now = 1_000;
    printer.update(progress({ ...staging, rowsDone: 900, rowsPerSecond: 900 }));
    now = 2_000;
    printer.update(progress({ ...staging, rowsDone: 1800, rowsPerSecond: 900 }));
    now = 2_500;
    printer.update(
      progress({
        step: 'Phase 2/3: verifying staged data',
        rowsTotal: 2000,
        rowsDone: 2000,
        rowsPerSecond: 1000,
        phases: [{ number: 1, title: 'Migrating to staging', startedAt: 0, endedAt: 2_500 }],
      }),
    );
    const text = out.join('');
    expect(text).toContain('   5% · 100/2,000 rows · job 0s elapsed');
    expect(text).not.toMatch(/· 0 rows\/s/);
    expect(text).not.toContain('90% · 1,800/2,000');
    expect(text).toMatch(
      /100% · 2,000\/2,000 rows · 1,000 rows\/s.*\n {3}✓ Data migrated to staging tables \(2,000 records, indexes built\) \(3s\)\n/,
    );
    expect(text).toContain('Phase 2/3: Verifying staged data...');
  });

  it('shows the running step with its own unit and rate', () => {
    expect(stepLine(indexReport(300))).toBe(
      '   50% · idx_hnsw on lightrag_vdb_chunks_staging: building index: loading tuples · 300/600 blocks · 30 blocks/s · ETA 10s',
    );
    expect(
      stepLine({
        kind: 'backup',
        detail: 'reading vdb_entities.json',
        done: 412e6,
        total: 1700e6,
        unit: 'bytes',
        perSecond: 55e6,
        parts: [],
      }),
    ).toBe('   24% · reading vdb_entities.json · 412 MB/1,700 MB · 55 MB/s · ETA 24s');
  });
});
