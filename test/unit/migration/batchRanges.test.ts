import { describe, expect, it } from 'vitest';
import { batchesPerActivity, MAX_BATCHES_PER_RANGE, RANGE_BYTES } from '../../../core/migration/batchRanges';

describe('batchesPerActivity', () => {
  it('takes about RANGE_BYTES of source per activity', () => {
    // 8 MB batches (the byte limit of a vector batch): 8 per activity
    expect(batchesPerActivity({ bytes: 400 * 8e6, batches: 400 })).toBe(Math.floor(RANGE_BYTES / 8e6));
    // batches larger than RANGE_BYTES: one each
    expect(batchesPerActivity({ bytes: 10 * 100e6, batches: 10 })).toBe(1);
  });

  it('caps ranges of small batches, and a small collection is one activity', () => {
    expect(batchesPerActivity({ bytes: 1000 * 1e3, batches: 1000 })).toBe(MAX_BATCHES_PER_RANGE);
    expect(batchesPerActivity({ bytes: 15 * 300e3, batches: 15 })).toBeGreaterThanOrEqual(15);
    expect(batchesPerActivity({ bytes: 0, batches: 0 })).toBe(1);
  });

  it('follows an explicit setting', () => {
    expect(batchesPerActivity({ bytes: 1000 * 1e3, batches: 1000 }, 1)).toBe(1);
    expect(batchesPerActivity({ bytes: 1000 * 1e3, batches: 1000 }, 7.9)).toBe(7);
  });
});
