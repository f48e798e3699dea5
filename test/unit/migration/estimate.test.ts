import { describe, expect, it } from 'vitest';
import { estimatePhases } from '../../../core/migration/estimate';

/** The 100k-chunk store of docs/benchmarks.md: 3.59 GB, 640,000 rows, 200,000 vectors of 1536 dimensions. */
const STORE_100K = {
  bytes: 3.59e9,
  rows: 640_000,
  vectors: [
    { count: 100_000, dim: 1536 },
    { count: 50_000, dim: 1536 },
    { count: 50_000, dim: 1536 },
  ],
  vectorIndex: true,
};

describe('estimatePhases', () => {
  it('lands in the range measured end to end for the 100k store (staged: 419–467 s)', () => {
    const e = estimatePhases({ ...STORE_100K, staged: true, verify: true });
    expect(e.total).toBeGreaterThanOrEqual(419);
    expect(e.total).toBeLessThanOrEqual(467);
    // the index build dominates, as measured (262–288 s)
    expect(e.indexBuild).toBeGreaterThanOrEqual(262);
    expect(e.indexBuild).toBeLessThanOrEqual(288);
  });

  it('counts the backup only when staged, verification unless skipped, and no index build without an index', () => {
    const staged = estimatePhases({ ...STORE_100K, staged: true, verify: true });
    const direct = estimatePhases({ ...STORE_100K, staged: false, verify: true });
    expect(direct.backup).toBe(0);
    expect(staged.total - direct.total).toBeGreaterThanOrEqual(staged.backup - 1);
    expect(estimatePhases({ ...STORE_100K, staged: false, verify: false }).verify).toBe(0);
    const wide = estimatePhases({
      ...STORE_100K,
      vectors: [{ count: 200_000, dim: 3072 }],
      vectorIndex: false,
      staged: false,
      verify: true,
    });
    expect(wide.indexBuild).toBe(0);
  });

  it('grows linearly with the store', () => {
    const one = estimatePhases({ ...STORE_100K, staged: true, verify: true });
    const ten = estimatePhases({
      ...STORE_100K,
      bytes: STORE_100K.bytes * 10,
      rows: STORE_100K.rows * 10,
      vectors: STORE_100K.vectors.map((v) => ({ ...v, count: v.count * 10 })),
      staged: true,
      verify: true,
    });
    expect(ten.total / one.total).toBeGreaterThan(9.9);
    expect(ten.total / one.total).toBeLessThan(10.1);
  });
});
