/**
 * Duplicate-key detection in bounded memory: each key is reduced to a 53-bit hash (two 32-bit
 * FNV-1a variants) kept in a growable Float64Array (8 bytes per record). After the scan the hashes
 * are sorted; equal neighbours are only *candidates* — the caller confirms them by comparing the
 * real keys in a second pass that runs only when a candidate exists.
 */

export function keyHash(raw: Uint8Array): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ raw.length;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    h1 = Math.imul(h1 ^ b, 0x01000193);
    h2 = Math.imul(h2 ^ b, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  return (h1 >>> 0) * 2097152 + ((h2 >>> 0) >>> 11);
}

export class HashCollector {
  private hashes = new Float64Array(1024);
  private n = 0;

  add(hash: number): void {
    if (this.n === this.hashes.length) {
      const grown = new Float64Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.n++] = hash;
  }

  /** Hashes that occur more than once (usually empty). */
  candidates(): Set<number> {
    const sorted = this.hashes.subarray(0, this.n).sort();
    const out = new Set<number>();
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) out.add(sorted[i]!);
    this.hashes = new Float64Array(0);
    return out;
  }
}

/** Confirms candidates: feed (hash, key, recordIndex); returns the first real duplicate. */
export class DuplicateConfirmer {
  private seen = new Map<string, number>();
  constructor(private readonly candidates: Set<number>) {}
  check(
    hash: number,
    raw: Uint8Array,
    recordIndex: number,
  ): { first: number; second: number; key: string } | undefined {
    if (!this.candidates.has(hash)) return undefined;
    const key = Buffer.from(raw).toString('utf8');
    const first = this.seen.get(key);
    if (first !== undefined) return { first, second: recordIndex, key };
    this.seen.set(key, recordIndex);
    return undefined;
  }
}
