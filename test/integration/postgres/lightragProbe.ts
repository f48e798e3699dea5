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

/** Runs `script` (beside this file) with `spec` as its JSON input; the probe prints `PROBE-RESULT <json>`. */
export function runProbe<T = ProbeResult>(
  python: string,
  script: string,
  spec: unknown,
  dbUrl: string,
  env: Record<string, string> = {},
): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'lightrag-probe-'));
  writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  const url = new URL(dbUrl);
  const run = spawnSync(python, [path.join(__dirname, script), path.join(dir, 'spec.json')], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
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
  return JSON.parse(line.slice('PROBE-RESULT '.length)) as T;
}
