import { describe, expect, it } from 'vitest';
import { applyHeapGrowth, DEFAULT_HEAP_GROWTH_PERCENT } from '../../../workers/heap';

describe('applyHeapGrowth', () => {
  it('refuses a value that is not a whole percentage, naming the variable', () => {
    expect(() => applyHeapGrowth({ HYBRIDRAG_HEAP_GROWTH_PERCENT: 'lots' })).toThrow(
      /HYBRIDRAG_HEAP_GROWTH_PERCENT must be a whole number.*"lots"/,
    );
    expect(() => applyHeapGrowth({ HYBRIDRAG_HEAP_GROWTH_PERCENT: '-5' })).toThrow(/HYBRIDRAG_HEAP_GROWTH_PERCENT/);
  });

  it('applies the default once per process', () => {
    expect(applyHeapGrowth({})).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
    // V8 flags are process-wide: a later call keeps what is in effect
    expect(applyHeapGrowth({ HYBRIDRAG_HEAP_GROWTH_PERCENT: '0' })).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
  });
});
