import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ParallelGzip } from '../../../core/backup/parallelGzip';

/** Input of several blocks, in chunks of uneven sizes, half random (incompressible) half text. */
function input(): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    chunks.push(i % 2 ? randomBytes(100_000 + i * 17_000) : Buffer.from(`chunk ${i} `.repeat(30_000 + i * 1000)));
  }
  return chunks;
}

async function compress(chunks: Buffer[], inFlight: number): Promise<Buffer> {
  return buffer(Readable.from(chunks).pipe(new ParallelGzip(1, inFlight)));
}

describe('ParallelGzip', () => {
  it('writes members in input order that gunzip (Node and the gzip program) reads back byte for byte', async () => {
    const chunks = input();
    const whole = Buffer.concat(chunks);
    expect(whole.length).toBeGreaterThan(3 * (4 << 20)); // several members
    const gz = await compress(chunks, 3);
    expect(zlib.gunzipSync(gz).equals(whole)).toBe(true);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pgz-')), 'x.gz');
    writeFileSync(file, gz);
    expect(execFileSync('gzip', ['-dc', file], { maxBuffer: 1 << 28 }).equals(whole)).toBe(true);
  });

  it('gives the same bytes whatever the number of blocks in flight', async () => {
    const chunks = input();
    expect((await compress(chunks, 1)).equals(await compress(chunks, 4))).toBe(true);
  });

  it('writes a valid empty gzip for empty input', async () => {
    const gz = await compress([], 2);
    expect(zlib.gunzipSync(gz).length).toBe(0);
  });
});
