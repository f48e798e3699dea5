import { describe, expect, it } from 'vitest';
import { progressLine } from '../../../client/progress';
import { MigrationTracker } from '../../../workflows/tracker';

function tracker(): MigrationTracker {
  const t = new MigrationTracker('job-1', 0);
  t.planned({
    collections: ['vdb_chunks', 'vdb_entities', 'text_chunks'].map((collection) => ({
      collection,
      file: `${collection}.json`,
      bytes: 1,
      records: 10,
      batches: 2,
      planFile: 'plan',
    })),
    absent: [],
    otherWorkspaces: [],
    dimension: 4,
    dimensionSource: 'matrix',
  });
  return t;
}

describe('MigrationTracker pause', () => {
  it('is pausing until every collection loading at the pause has stopped or finished', () => {
    const t = tracker();
    t.pause(['vdb_chunks', 'vdb_entities']);
    expect(t.progress(0)).toMatchObject({ paused: true, pausing: true });
    expect(progressLine(t.progress(0))).toMatch(/· PAUSING \(what runs finishes first\)$/);
    t.loadsStopped('vdb_chunks');
    expect(t.progress(0).pausing).toBe(true);
    t.collectionDone('vdb_entities', 'done');
    expect(t.progress(0)).toMatchObject({ paused: true, pausing: false });
    expect(progressLine(t.progress(0))).toMatch(/· PAUSED$/);
    expect(t.details(0)).toContain('— paused');
  });

  it('is paused at once when nothing was loading, and a resume clears both', () => {
    const t = tracker();
    t.pause([]);
    expect(t.progress(0)).toMatchObject({ paused: true, pausing: false });
    t.resume();
    t.pause(['text_chunks']);
    expect(t.details(0)).toContain('— pausing');
    t.resume();
    expect(t.progress(0)).toMatchObject({ paused: false, pausing: false });
    // a late report from a child does not bring the pause back
    t.loadsStopped('text_chunks');
    expect(t.progress(0)).toMatchObject({ paused: false, pausing: false });
  });

  it('is pausing while a long step (backup, index build, verify) runs, paused once it ends', () => {
    const t = tracker();
    t.stepsRunning = 1;
    t.pause([]);
    expect(t.progress(0)).toMatchObject({ paused: true, pausing: true });
    t.stepsRunning = 0;
    expect(t.progress(0)).toMatchObject({ paused: true, pausing: false });
  });

  it('a second pause of a paused job does not wait again for children that have reported', () => {
    const t = tracker();
    t.pause(['vdb_chunks']);
    t.loadsStopped('vdb_chunks');
    expect(t.progress(0).pausing).toBe(false);
    t.pause(['vdb_chunks', 'text_chunks']);
    expect(t.progress(0)).toMatchObject({ paused: true, pausing: false });
  });
});
