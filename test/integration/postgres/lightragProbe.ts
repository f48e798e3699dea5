import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');

/** The pinned LightRAG venv's python (scripts/lightrag-venv.sh creates it once). */
export function lightragPython(): string {
  const venv = spawnSync('bash', [path.join(root, 'scripts/lightrag-venv.sh')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (venv.status !== 0) throw new Error(`scripts/lightrag-venv.sh failed: ${venv.stderr}`);
  return venv.stdout.trim().split('\n').pop()!;
}

/**
 * Runs a probe script (beside this file) with LightRAG's PostgreSQL settings taken from `dbUrl`
 * and returns its `PROBE-RESULT` JSON plus its stderr (LightRAG's log).
 */
export function runLightragProbe<T>(
  python: string,
  script: string,
  spec: unknown,
  dbUrl: string,
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
