import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { generateStore } from '../../core/source/generate';
import { CLI, hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';

const root = path.resolve(__dirname, '../..');
let db: ScratchDatabase;
let python = '';
beforeAll(async () => {
  db = await createScratchDatabase('e2e_progress');
  const venv = spawnSync('bash', [path.join(root, 'scripts/lightrag-venv.sh')], { encoding: 'utf8', timeout: 600_000 });
  if (venv.status !== 0) throw new Error(`scripts/lightrag-venv.sh failed: ${venv.stderr}`);
  python = venv.stdout.trim().split('\n').pop()!;
}, 900_000);
afterAll(async () => {
  await db?.drop();
});

/** "…idx on table: building index: loading tuples · 378/600 blocks…" → the index progress it shows */
const INDEX_PROGRESS = /building index: [^·\n]+ · ([\d,]+)\/([\d,]+) (blocks|tuples)/g;
const indexUpdates = (text: string) => new Set([...text.matchAll(INDEX_PROGRESS)].map((m) => m[0]));

/** The `.env` lines and `LightRAG(...)` arguments the end of a run printed. */
function printedSettings(stdout: string) {
  const block = stdout.slice(stdout.indexOf('Open it in LightRAG'));
  const envLines = [...block.matchAll(/^ {3}([A-Z_]+=.*)$/gm)].map((m) => m[1]!);
  const call = block.slice(block.indexOf('rag = LightRAG('), block.indexOf('\n   )'));
  const args = Object.fromEntries(
    [...call.matchAll(/^ {7}(\w+)="([^"]*)",$/gm)].filter((m) => m[1] !== 'working_dir').map((m) => [m[1], m[2]]),
  );
  const fn = /EmbeddingFunc\(embedding_dim=(\d+)(?:, model_name="([^"]+)")?/.exec(call);
  return { envLines, args, embeddingDim: Number(fn?.[1]), modelName: fn?.[2] ?? null };
}

/** Row `i` of a nano-vectordb file's matrix (base64 float32 little-endian). */
function matrixRow(file: string, i: number): { record: Record<string, unknown>; vector: number[] } {
  const vdb = JSON.parse(readFileSync(file, 'utf8')) as {
    embedding_dim: number;
    data: Record<string, unknown>[];
    matrix: string;
  };
  const bytes = Buffer.from(vdb.matrix, 'base64');
  const d = vdb.embedding_dim;
  return { record: vdb.data[i]!, vector: Array.from({ length: d }, (_, k) => bytes.readFloatLE((i * d + k) * 4)) };
}

describe('progress of every phase, and how to open the result', () => {
  it('shows the index build advancing in the CLI and in status, staging ends at 100 %, and LightRAG opens the workspace with the printed settings', async () => {
    // 24,000 vectors of 1536 dimensions: HNSW builds of 20 s and more even on 2 quiet cores (status samples every 2 s, the CLI prints every 3 s)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gen-progress-'));
    generateStore({ out: dir, records: 12000, dim: 1536, era: 'newest', seed: 16, chunkChars: 200 });
    const env = {
      PATH: process.env.PATH,
      HOME: mkdtempSync(path.join(os.tmpdir(), 'home-')),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
    };
    const child = spawn(
      process.execPath,
      [
        CLI,
        'backend',
        'migrate',
        'gen',
        '--path',
        dir,
        '--staged',
        '-y',
        '--connection-string',
        db.url,
        '--workspace',
        'progress',
        '--embedding-model',
        'text-embedding-3-small',
        '--worker',
        'embedded',
      ],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let running = true;
    void exited.then(() => (running = false));

    // `backend status` taken while it runs
    const statuses: string[] = [];
    while (running) {
      await new Promise((r) => setTimeout(r, 2_000));
      if (!running) break;
      const s = await hybridrag(['backend', 'status', 'gen', '--path', dir], { HOME: env.HOME });
      statuses.push(s.stdout);
    }
    expect(await exited, stderr).toBe(0);

    const cliIndex = indexUpdates(stdout);
    const statusIndex = indexUpdates(statuses.join('\n'));
    expect(cliIndex.size, stdout).toBeGreaterThanOrEqual(2);
    expect(statusIndex.size, statuses.join('\n----\n')).toBeGreaterThanOrEqual(2);
    expect(statuses.some((s) => /^Time: {6}\d+s elapsed · about \S+ left$/m.test(s))).toBe(true);
    // status runs without the password (not in its environment): it says why it cannot list the backends
    expect(statuses.at(-1)).toMatch(/^PostgreSQL: not asked about the job's backends: .*asks for a password/m);
    // staging's last line is 100 %, right before its ✓ with the phase's duration
    expect(stdout).toMatch(
      / {3}100% · 76,800\/76,800 rows[^\n]*\n {3}✓ Data migrated to staging tables \(76,800 records, indexes built\) \((?:\d+m)?\d+s\)\n/,
    );
    expect(stdout).not.toMatch(/· 0 rows\/s/);
    expect(stdout).toMatch(/\d+% · reading \S+ · [\d,]+ MB\/[\d,]+ MB/);
    expect(stdout).toMatch(/✓ Backup created: \S+ \((?:\d+m)?\d+s\)/);
    // the verification runs alongside the index build (from its first index on), and shows there
    expect(stdout).toMatch(/ · alongside: \d+% · [^\n]*checksumming the source rows · [\d,]+ MB\/[\d,]+ MB/);
    expect(stdout).toMatch(/✓ Verification passed \((?:\d+m)?\d+s\)/);
    expect(stdout).toMatch(/✓ Staging tables promoted to production \((?:\d+m)?\d+s\)/);

    // the printed settings, and LightRAG started with exactly those
    const printed = printedSettings(stdout);
    const url = new URL(db.url);
    expect(printed.envLines).toEqual([
      'LIGHTRAG_KV_STORAGE=PGKVStorage',
      'LIGHTRAG_VECTOR_STORAGE=PGVectorStorage',
      'LIGHTRAG_GRAPH_STORAGE=PGTableGraphStorage',
      'LIGHTRAG_DOC_STATUS_STORAGE=PGDocStatusStorage',
      `POSTGRES_HOST=${url.hostname}`,
      `POSTGRES_PORT=${url.port}`,
      `POSTGRES_USER=${decodeURIComponent(url.username)}`,
      `POSTGRES_DATABASE=${url.pathname.slice(1)}`,
      'POSTGRES_WORKSPACE=progress',
      'POSTGRES_VECTOR_INDEX_TYPE=HNSW',
      'EMBEDDING_MODEL=text-embedding-3-small',
      'EMBEDDING_DIM=1536',
    ]);
    expect(stdout).not.toContain(decodeURIComponent(url.password));
    const entity = matrixRow(path.join(dir, 'vdb_entities.json'), 7);
    const chunkIds = Object.keys(JSON.parse(readFileSync(path.join(dir, 'kv_store_text_chunks.json'), 'utf8'))).slice(
      0,
      3,
    );
    const spec = {
      env_lines: printed.envLines,
      arguments: printed.args,
      embedding_dim: printed.embeddingDim,
      model_name: printed.modelName,
      entity_name: entity.record.entity_name,
      entity_vector: entity.vector,
      chunk_ids: chunkIds,
    };
    const work = mkdtempSync(path.join(os.tmpdir(), 'lightrag-open-'));
    writeFileSync(path.join(work, 'spec.json'), JSON.stringify(spec));
    const run = spawnSync(python, [path.join(__dirname, 'lightrag_open.py'), path.join(work, 'spec.json')], {
      cwd: work,
      encoding: 'utf8',
      timeout: 300_000,
      env: { PATH: process.env.PATH ?? '', HOME: work, POSTGRES_PASSWORD: decodeURIComponent(url.password) },
    });
    const line = run.stdout.split('\n').find((l) => l.startsWith('OPEN-RESULT '));
    if (!line)
      throw new Error(`LightRAG could not open the workspace (exit ${run.status}):\n${run.stderr.slice(-4000)}`);
    const out = JSON.parse(line.slice('OPEN-RESULT '.length));
    expect(out.workspace).toBe('progress');
    expect(out.entities_table.toLowerCase()).toBe('lightrag_vdb_entity_text_embedding_3_small_1536d');
    expect(out.chunks.map((c: { content?: string } | null) => typeof c?.content)).toEqual([
      'string',
      'string',
      'string',
    ]);
    expect(Object.values(out.status_counts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(1200);
    expect(out.node?.entity_id).toBe(entity.record.entity_name);
    expect(out.neighbours[0]).toBe(entity.record.entity_name);
  }, 900_000);
});
