/**
 * A generated vdb_chunks.json larger than 600 MB is planned and read batch by batch in a child
 * process whose peak RSS (VmHWM) must stay under 300 MB. The store is generated once into a temp
 * folder and deleted afterwards.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir, transpileSource } from './helpers';

const RECORDS = 31_000;
const DIM = 1536;

let js: string;
let store: string;

beforeAll(() => {
  js = transpileSource();
  store = tempDir('large');
  const gen = path.join(js, 'gen-child.js');
  writeFileSync(
    gen,
    `require('./core/source/generate').generateStore({ out: ${JSON.stringify(store)}, records: ${RECORDS}, dim: ${DIM}, era: 'mid', chunkChars: 12000, only: ['vdb_chunks.json'] });`,
  );
  execFileSync(process.execPath, [gen], {
    env: { ...process.env, NODE_PATH: path.join(repoRoot, 'node_modules') },
    stdio: 'inherit',
  });
}, 240_000);

afterAll(() => {
  if (store) rmSync(store, { recursive: true, force: true });
  if (js) rmSync(js, { recursive: true, force: true });
});

describe('large store', () => {
  it('reads a > 600 MB vdb_chunks.json batch by batch with peak RSS < 300 MB', () => {
    const file = path.join(store, 'vdb_chunks.json');
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(600 * 1024 * 1024);

    const reader = path.join(js, 'read-child.js');
    writeFileSync(
      reader,
      `
const fs = require('node:fs');
const s = require('./core/source');
(async () => {
  const plan = s.parsePlan(JSON.stringify(await s.planVdb(${JSON.stringify(file)}, 'vdb_chunks', { batchSize: 1000 })));
  let count = 0, firstId, lastId, firstMs = 0, lastMs = 0, finite = true, dims = new Set();
  for (let k = 0; k < plan.batches.length; k++) {
    const t = process.hrtime.bigint();
    const recs = await s.readVectorBatch(plan, k);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (k === 0) { firstMs = ms; firstId = recs[0].id; }
    if (k === plan.batches.length - 1) { lastMs = ms; lastId = recs[recs.length - 1].id; }
    for (const r of recs) dims.add(r.vector.length);
    count += recs.length;
  }
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(status);
  const peakKb = hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify({ recordCount: plan.recordCount, count, firstId, lastId, firstMs, lastMs, peakMb: peakKb / 1024, dims: [...dims], planBytes: JSON.stringify(plan).length }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const out = JSON.parse(
      execFileSync(process.execPath, [reader], {
        env: { ...process.env, NODE_PATH: path.join(repoRoot, 'node_modules') },
        encoding: 'utf8',
      }),
    ) as {
      recordCount: number;
      count: number;
      firstId: string;
      lastId: string;
      firstMs: number;
      lastMs: number;
      peakMb: number;
      dims: number[];
      planBytes: number;
    };
    console.log(
      `large store: ${(size / 1e6).toFixed(0)} MB, peak RSS ${out.peakMb.toFixed(0)} MB, first batch ${out.firstMs.toFixed(0)} ms, last ${out.lastMs.toFixed(0)} ms`,
    );
    const chunkId = (i: number): string => `chunk-${createHash('md5').update(`chunk${i}`).digest('hex')}`;
    expect(out.recordCount).toBe(RECORDS);
    expect(out.count).toBe(RECORDS);
    expect(out.firstId).toBe(chunkId(0));
    expect(out.lastId).toBe(chunkId(RECORDS - 1));
    expect(out.dims).toEqual([DIM]);
    expect(out.planBytes).toBeLessThan(100_000);
    expect(out.peakMb).toBeLessThan(300);
  });
});
