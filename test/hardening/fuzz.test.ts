/**
 * Fuzz: real fixture files mutated at random (truncate, flip bytes, splice, delete a range; seeded
 * PRNG) go through the planner and every batch reader in-process (500 iterations; HARDENING_FUZZ_SEED / HARDENING_FUZZ_ITERATIONS change them) and through the
 * CLI dry run (10). Every outcome is a typed SourceError or a result — never another exception, a
 * hang (per-iteration time bound) or runaway memory.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planCollections } from '../../core/migration/planning';
import { readBatch, SourceError } from '../../core/source';
import { hybridrag } from '../helpers/cli';
import { FIXTURES } from '../helpers/fixtures';
import { expectOneLineError } from './helpers';

const SEED = Number(process.env.HARDENING_FUZZ_SEED ?? 0x5eed);
const ITERATIONS = Number(process.env.HARDENING_FUZZ_ITERATIONS ?? 500);
const CLI_ITERATIONS = 10;
const PER_ITERATION_MS = 10_000;
const FIXTURES_USED = [
  'nyedr__desktop-llm__lightrag',
  'hr231__portOS__rag_storage',
  'kunj-10__HackRx-6.0__data',
  'Rahulagowda004__lightrag_implemented_chatbot__root',
  'bingofhy__LightRag-tmp__rag_storage',
];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hardening-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** mulberry32: small, seeded, reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutation = 'truncate' | 'flip' | 'splice' | 'delete';
function mutate(buf: Buffer, rand: () => number): { kind: Mutation; out: Buffer } {
  const int = (n: number) => Math.floor(rand() * n);
  const kinds: Mutation[] = ['truncate', 'flip', 'splice', 'delete'];
  const kind = kinds[int(kinds.length)]!;
  const out = Buffer.from(buf);
  if (buf.length === 0) return { kind, out };
  switch (kind) {
    case 'truncate':
      return { kind, out: out.subarray(0, int(buf.length)) };
    case 'flip': {
      for (let i = 0, n = 1 + int(8); i < n; i++) {
        const at = int(out.length);
        out[at] = out[at]! ^ (1 << int(8));
      }
      return { kind, out };
    }
    case 'splice': {
      const from = int(buf.length);
      const len = 1 + int(Math.min(256, buf.length - from));
      const to = int(buf.length);
      return { kind, out: Buffer.concat([buf.subarray(0, to), buf.subarray(from, from + len), buf.subarray(to)]) };
    }
    case 'delete': {
      const at = int(buf.length);
      return { kind, out: Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + int(64))]) };
    }
  }
}

function dataFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) =>
    /^(kv_store_.+\.json|vdb_.+\.json|graph_chunk_entity_relation\.graphml)$/.test(n),
  );
}

/** One mutated copy of a fixture: returns the folder and a description for failure messages. */
function mutatedStore(i: number, rand: () => number): { dir: string; what: string } {
  const fixture = FIXTURES_USED[Math.floor(rand() * FIXTURES_USED.length)]!;
  const dir = path.join(tmp, `it-${i}`);
  cpSync(path.join(FIXTURES, fixture), dir, { recursive: true });
  const files = dataFiles(dir);
  const name = files[Math.floor(rand() * files.length)]!;
  const file = path.join(dir, name);
  const { kind, out } = mutate(readFileSync(file), rand);
  rmSync(file);
  writeFileSync(file, out);
  return { dir, what: `iteration ${i}: ${kind} of ${fixture}/${name}` };
}

async function planAndReadAll(dir: string): Promise<number> {
  const plans = await planCollections(dir, { batchSize: 7 });
  let records = 0;
  for (const { plan } of plans.collections) {
    for (let k = 0; k < plan.batches.length; k++) records += (await readBatch(plan, k)).length;
  }
  return records;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

describe('fuzz', () => {
  it(
    `planner + batch readers: ${ITERATIONS} seeded mutations end in a SourceError or a result`,
    { timeout: Math.max(240_000, ITERATIONS * 500) },
    async () => {
      const rand = prng(SEED);
      const outcomes: Record<string, number> = { ok: 0 };
      let peakRss = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const { dir, what } = mutatedStore(i, rand);
        try {
          await withTimeout(planAndReadAll(dir), PER_ITERATION_MS, what);
          outcomes.ok! += 1;
        } catch (error) {
          if (!(error instanceof SourceError))
            throw new Error(`${what}: not a typed SourceError: ${(error as Error)?.stack ?? String(error)}`, {
              cause: error,
            });
          expect(error.message.length, what).toBeGreaterThan(10);
          expect(error.message, what).not.toMatch(/\n/);
          outcomes[error.code] = (outcomes[error.code] ?? 0) + 1;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
      expect(peakRss).toBeLessThan(1.5 * 1024 ** 3);
      // the mutations really exercise the error paths, and some survive as valid data
      expect(Object.keys(outcomes).length).toBeGreaterThan(4);
      console.log(
        `fuzz outcomes over ${ITERATIONS} iterations (seed ${SEED}): ${JSON.stringify(outcomes)}; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
    },
  );

  it(
    `CLI dry run: ${CLI_ITERATIONS} seeded mutations exit 0 or with one line, never a crash`,
    { timeout: 120_000 },
    async () => {
      const rand = prng(SEED + 1);
      for (let i = 0; i < CLI_ITERATIONS; i++) {
        const { dir, what } = mutatedStore(1000 + i, rand);
        const run = await hybridrag([
          'backend',
          'migrate',
          '--path',
          dir,
          '--dry-run',
          '--connection-string',
          'postgres://u@127.0.0.1:1/none',
        ]);
        if (run.code !== 0) expectOneLineError(run, undefined, 1);
        else expect(run.stdout, what).toContain('No changes made (dry run).');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
