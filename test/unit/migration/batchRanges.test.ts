import { describe, expect, it } from 'vitest';
import { batchesPerActivity, MAX_BATCHES_PER_RANGE, RANGE_BYTES } from '../../../core/migration/batchRanges';

describe('batchesPerActivity', () => {
  it('takes about RANGE_BYTES of source per activity', () => {
    // 12.5 MB per batch (1000 chunk vectors at 1536 dims): 5 batches
    expect(batchesPerActivity({ bytes: 400 * 12.5e6, batches: 400 }, 4)).toBe(Math.floor(RANGE_BYTES / 12.5e6));
    // batches larger than RANGE_BYTES: one each
    expect(batchesPerActivity({ bytes: 10 * 100e6, batches: 10 }, 4)).toBe(1);
  });

  it('leaves every collection at least `parallelism` activities and caps small batches', () => {
    expect(batchesPerActivity({ bytes: 15 * 300e3, batches: 15 }, 4)).toBe(4); // 4 ranges: 4+4+4+3
    expect(batchesPerActivity({ bytes: 1000 * 1e3, batches: 1000 }, 2)).toBe(MAX_BATCHES_PER_RANGE);
    expect(batchesPerActivity({ bytes: 0, batches: 0 }, 2)).toBe(1);
  });

  it('follows an explicit setting', () => {
    expect(batchesPerActivity({ bytes: 1000 * 1e3, batches: 1000 }, 2, 1)).toBe(1);
    expect(batchesPerActivity({ bytes: 1000 * 1e3, batches: 1000 }, 2, 7.9)).toBe(7);
  });
});
