import v8 from 'node:v8';

/**
 * How far V8 lets the heap grow past what the last full GC kept, in percent (V8's own default
 * grows it up to ~4×). A worker's live heap during staging is small (~45 MB: the batches in
 * flight) but it allocates fast (every record's strings), so by default the heap swelled to
 * ~200 MB between collections and the worker peaked at ~400 MB RSS. Measured at 30k chunks
 * (docs/benchmarks.md): 35 % → ~296 MB, for ~35 % more worker CPU spent in GC.
 * HYBRIDRAG_HEAP_GROWTH_PERCENT sets it; 0 keeps V8's default (fastest, largest).
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 35;

let applied: number | undefined;

/** Sets the process's heap growth once (V8 flags are process-wide); returns the value in effect. */
export function applyHeapGrowth(env: NodeJS.ProcessEnv = process.env): number {
  if (applied !== undefined) return applied;
  const raw = env.HYBRIDRAG_HEAP_GROWTH_PERCENT;
  const percent = raw === undefined || raw === '' ? DEFAULT_HEAP_GROWTH_PERCENT : Number(raw);
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) {
    throw new Error(
      `HYBRIDRAG_HEAP_GROWTH_PERCENT must be a whole number from 0 to 1000 (got "${raw}"); unset it for the default ${DEFAULT_HEAP_GROWTH_PERCENT}.`,
    );
  }
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  applied = percent;
  return percent;
}
