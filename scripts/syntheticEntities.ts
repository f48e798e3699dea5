import type { VectorRecord } from '../core/source/records';

/** Deterministic pseudo-random numbers in [-0.5, 0.5) (mulberry32), so a run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** `n` entity vector records of workspace `ws` (ids `ent-<ws>-<i>`, names `<ws>-<i>`), as core/source yields them. */
export function syntheticEntities(ws: string, n: number, dim: number, next: () => number): VectorRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `ent-${ws}-${i}`,
    fields: { entity_name: `${ws}-${i}`, content: `entity ${i} of ${ws}`, source_id: 'chunk-1', file_path: 'f.txt' },
    vector: Float32Array.from({ length: dim }, next),
  }));
}
