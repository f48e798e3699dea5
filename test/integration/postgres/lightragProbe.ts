/** Runs a Python probe with the pinned LightRAG venv against a scratch database and returns its JSON result. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');

/** The venv's python (installs it once if missing; scripts/lightrag-venv.sh pins lightrag-hku). */
export function lightragPython(): string {
  const venv = spawnSync('bash', [path.join(root, 'scripts/lightrag-venv.sh')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (venv.status !== 0) throw new Error(`scripts/lightrag-venv.sh failed: ${venv.stderr}`);
  return venv.stdout.trim().split('\n').pop()!;
}

/** What a probe prints: free-form JSON the test asserts on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the probe's JSON is asserted field by field
export type ProbeResult = Record<string, any>;

/**
 * Runs `script` (beside this file) with `spec` as its JSON input and LightRAG's PostgreSQL settings taken from
 * `dbUrl`; returns the probe's `PROBE-RESULT <json>` line and its stderr (LightRAG's log).
 */
export function runLightragProbe<T = ProbeResult>(
  python: string,
  script: string,
  spec: unknown,
  dbUrl: string,
  env: Record<string, string> = {},
): { result: T; log: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'lightrag-probe-'));
  writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  const url = new URL(dbUrl);
  const run = spawnSync(python, [path.join(__dirname, script), path.join(dir, 'spec.json')], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 64 << 20,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      POSTGRES_HOST: url.hostname,
      POSTGRES_PORT: url.port || '5432',
      POSTGRES_USER: decodeURIComponent(url.username),
      POSTGRES_PASSWORD: decodeURIComponent(url.password),
      POSTGRES_DATABASE: url.pathname.slice(1),
      POSTGRES_MAX_CONNECTIONS: '4',
      ...env,
    },
  });
  const line = run.stdout.split('\n').find((l) => l.startsWith('PROBE-RESULT '));
  if (!line) throw new Error(`probe failed (exit ${run.status}):\n${run.stderr.slice(-4000)}`);
  return { result: JSON.parse(line.slice('PROBE-RESULT '.length)) as T, log: run.stderr };
}

/** Brute-force cosine top-k ids (what an exact vector search returns). */
export function cosineTopK(q: Float32Array, rows: { id: string; vector: Float32Array }[], k: number): string[] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const nq = norm(q);
  return rows
    .map((r) => ({ id: r.id, d: 1 - r.vector.reduce((s, x, i) => s + x * q[i]!, 0) / (nq * norm(r.vector)) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, k)
    .map((x) => x.id);
}
