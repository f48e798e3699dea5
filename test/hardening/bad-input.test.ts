/**
 * Hardening: bad input through the real CLI (dist/client/cli.js → Temporal → PostgreSQL). Every
 * case: one line `error: …` on stderr naming the problem and what to do, a non-zero exit, no
 * production table written, the source folder unchanged (names, sizes, sha256).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';
import { expectOneLineError, productionRows, snapshot } from './helpers';

const FIXTURE = 'kunj-10__HackRx-6.0__data';
let db: ScratchDatabase;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hardening-bad-'));
beforeAll(async () => {
  db = await createScratchDatabase('hard_bad');
});
afterAll(async () => {
  await db?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs the CLI and checks the invariants of a refused bad input. */
async function refused(
  args: string[],
  dir: string | undefined,
  pattern: RegExp,
  options: { env?: NodeJS.ProcessEnv; code?: number; strict?: boolean } = {},
) {
  const before = dir ? snapshot(dir, { includeBookkeeping: options.strict ?? false }) : [];
  const tablesBefore = await productionRows(db.url);
  const run = await hybridrag(['backend', 'migrate', ...args], options.env ?? {});
  expectOneLineError(run, pattern, options.code);
  if (dir) expect(snapshot(dir, { includeBookkeeping: options.strict ?? false })).toEqual(before);
  expect(await productionRows(db.url)).toEqual(tablesBefore);
  return run;
}

describe('folders and the registry', () => {
  it('a folder that is not a LightRAG store is refused (dry run and migrate)', async () => {
    const dir = path.join(tmp, 'notlightrag');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    writeFileSync(path.join(dir, 'data.json'), '{}');
    await refused(
      ['--path', dir, '--dry-run', '--connection-string', db.url],
      dir,
      /is not a LightRAG working directory.*point the migration at/,
      { strict: true },
    );
    await refused(
      ['--path', dir, '-y', '--connection-string', db.url],
      dir,
      /is not a LightRAG working directory.*point the migration at/,
    );
  });
  it('a name missing from the registry names the registry and what to do', async () => {
    const reg = path.join(tmp, 'registry.yaml');
    writeFileSync(reg, 'databases:\n  other:\n    path: /nonexistent\n');
    await refused(
      ['missing', '-y', '--connection-string', db.url],
      undefined,
      /No database named "missing" in the registry .*registry\.yaml.*pass --path DIR/,
      { env: { HYBRIDRAG_CONFIG: reg } },
    );
  });
  it('a registry that is not valid YAML names the file and the line', async () => {
    const reg = path.join(tmp, 'broken.yaml');
    writeFileSync(reg, 'databases:\n  mydb: [ {\n    path: "/x\n');
    await refused(
      ['mydb', '-y', '--connection-string', db.url],
      undefined,
      /registry .*broken\.yaml is not valid YAML \(line \d+\); fix it/,
      { env: { HYBRIDRAG_CONFIG: reg } },
    );
  });
  it('--path pointing to a file (and to nothing) is a usage error', async () => {
    const file = path.join(tmp, 'a-file.json');
    writeFileSync(file, '{}');
    await refused(
      ['--path', file, '-y', '--connection-string', db.url],
      undefined,
      /is a file, not a folder; point it to the LightRAG working directory/,
      { code: 2 },
    );
    await refused(
      ['--path', path.join(tmp, 'nope'), '-y', '--connection-string', db.url],
      undefined,
      /does not exist; point it to a LightRAG working directory/,
      { code: 2 },
    );
  });
});

describe('conflicting flags and rollback ids', () => {
  const combos: [string[], RegExp][] = [
    [['--dry-run', '--rollback', '20250101_000000'], /--rollback: cannot be combined with --dry-run/],
    [['--backup-only', '--staged'], /--staged: cannot be combined with --backup-only/],
    [['--dry-run', '--backup-only'], /--backup-only: cannot be combined with --dry-run/],
    [['--list-backups', '--rollback', '20250101_000000'], /cannot be combined with/],
    [['--resume', 'job-20250101-000000-abcd', '--dry-run'], /--resume: cannot be combined with --dry-run/],
    [['--skip-verify', '--backup-only'], /--skip-verify: cannot be combined with --backup-only/],
    [['--batch-size', '0'], /--batch-size: must be at least 1/],
    [['--batch-size', 'ten'], /--batch-size: must be a whole number/],
    [['--resume', '../../etc'], /--resume: must be a job id/],
  ];
  it.each(combos)('%j is refused as a usage error', async (flags, pattern) => {
    const dir = copyFixture(FIXTURE);
    await refused(['--path', dir, '-y', '--connection-string', db.url, ...flags], dir, pattern, {
      code: 2,
      strict: true,
    });
  });
  it('--rollback with an unknown id, or one with ../ in it, is refused and restores nothing', async () => {
    const dir = copyFixture(FIXTURE);
    await refused(
      ['--path', dir, '-y', '--rollback', '20200101_000000', '--connection-string', db.url],
      dir,
      /There is no backup 20200101_000000 of .*--list-backups/,
      { strict: true },
    );
    await refused(
      ['--path', dir, '-y', '--rollback', '../../etc/passwd', '--connection-string', db.url],
      dir,
      /is not a backup id; use one from --list-backups/,
      { code: 2, strict: true },
    );
    await refused(
      ['--path', dir, '-y', '--rollback', '20200101_000000/../../x', '--connection-string', db.url],
      dir,
      /is not a backup id/,
      { code: 2, strict: true },
    );
  });
});

// ---------------------------------------------------------------- source corruptions
type Corruption = { name: string; file: string; apply(text: Buffer): Buffer; message: RegExp };
const vdb =
  (mutate: (o: { embedding_dim: number; data: Record<string, unknown>[]; matrix: string }) => void) => (b: Buffer) => {
    const o = JSON.parse(b.toString('utf8')) as {
      embedding_dim: number;
      data: Record<string, unknown>[];
      matrix: string;
    };
    mutate(o);
    return Buffer.from(JSON.stringify(o));
  };
const floats = (o: { matrix: string }, edit: (f: Float32Array) => void) => {
  const bytes = Buffer.from(o.matrix, 'base64');
  const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  edit(f);
  o.matrix = Buffer.from(f.buffer).toString('base64');
};
const CORRUPTIONS: Corruption[] = [
  {
    name: 'truncated JSON',
    file: 'kv_store_text_chunks.json',
    apply: (b) => b.subarray(0, Math.floor(b.length / 2)),
    message: /kv_store_text_chunks\.json.*(truncated|ends)/i,
  },
  {
    name: 'invalid UTF-8',
    file: 'kv_store_full_docs.json',
    apply: (b) => {
      const i = b.indexOf('"content": "') + 12;
      return Buffer.concat([b.subarray(0, i), Buffer.from([0xff, 0xfe, 0xc3]), b.subarray(i)]);
    },
    message: /kv_store_full_docs\.json.*UTF-8/i,
  },
  {
    name: 'matrix length not len(data)×D×4',
    file: 'vdb_entities.json',
    apply: vdb((o) => {
      o.matrix = Buffer.from(o.matrix, 'base64')
        .subarray(0, -4 * 3072)
        .toString('base64');
    }),
    message: /vdb_entities\.json.*matrix/i,
  },
  {
    name: 'invalid base64',
    file: 'vdb_relationships.json',
    apply: vdb((o) => {
      o.matrix = `${o.matrix.slice(0, 100)}!!$$${o.matrix.slice(104)}`;
    }),
    message: /vdb_relationships\.json.*base64/i,
  },
  {
    name: 'duplicate keys',
    file: 'kv_store_full_docs.json',
    apply: (b) => {
      const t = b.toString('utf8');
      const first = /"(doc-[0-9a-f]+)": \{[\s\S]*?\n {2}\}/.exec(t)!;
      return Buffer.from(t.replace(first[0], `${first[0]},\n  ${first[0]}`));
    },
    message: /kv_store_full_docs\.json.*(duplicate|twice)/i,
  },
  {
    name: 'empty file',
    file: 'kv_store_doc_status.json',
    apply: () => Buffer.alloc(0),
    message: /kv_store_doc_status\.json.*empty/i,
  },
  {
    name: 'empty matrix "" with records',
    file: 'vdb_chunks.json',
    apply: vdb((o) => {
      o.matrix = '';
    }),
    message: /vdb_chunks\.json.*(empty|matrix)/i,
  },
  {
    name: 'graphml with an unknown attribute key',
    file: 'graph_chunk_entity_relation.graphml',
    apply: (b) =>
      Buffer.from(b.toString('utf8').replace(/(<node id="[^"]*">)/, '$1\n      <data key="d999">who am I</data>')),
    message: /graph_chunk_entity_relation\.graphml.*(d999|key)/i,
  },
];

function corrupted(c: Corruption): string {
  const dir = copyFixture(FIXTURE);
  const file = path.join(dir, c.file);
  const before = readFileSync(file);
  const after = c.apply(before);
  expect(after.equals(before), `${c.name} changed nothing`).toBe(false);
  rmSync(file);
  writeFileSync(file, after);
  return dir;
}

describe('every source corruption through the CLI dry run (reads every file)', () => {
  it.each(CORRUPTIONS.map((c) => [c.name, c] as const))('%s → one-line error naming the file', async (_name, c) => {
    const dir = corrupted(c);
    await refused(['--path', dir, '--dry-run', '--connection-string', db.url], dir, c.message, { strict: true });
  });
});

describe('source corruptions through a real migration (-y): refused, nothing promoted', () => {
  const some = [
    'truncated JSON',
    'matrix length not len(data)×D×4',
    'invalid UTF-8',
    'graphml with an unknown attribute key',
  ];
  it.each(some)('%s', async (name) => {
    const c = CORRUPTIONS.find((x) => x.name === name)!;
    const dir = corrupted(c);
    await refused(
      ['--path', dir, '-y', '--connection-string', db.url, '--workspace', `bad_${some.indexOf(name)}`],
      dir,
      c.message,
    );
    // the state file says why the job stopped where it did (what `backend status` shows)
    const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as { errors: string[] };
    expect(state.errors.join('\n')).toMatch(c.message);
  });
});

describe('vectors pgvector cannot store (NaN, ±Inf): those records alone are rejected, by id', () => {
  const ids = (file: string) =>
    (JSON.parse(readFileSync(file, 'utf8')) as { data: { __id__: string }[] }).data.map((r) => r.__id__);
  function withBadVectors(): { dir: string; bad: string[] } {
    const dir = copyFixture(FIXTURE);
    const edits: [string, (f: Float32Array) => void][] = [
      ['vdb_chunks.json', (f) => void (f[5] = Number.NaN)],
      ['vdb_entities.json', (f) => void (f[3072 + 7] = Number.POSITIVE_INFINITY)],
      ['vdb_relationships.json', (f) => void (f[1] = Number.NEGATIVE_INFINITY)],
    ];
    const bad: string[] = [];
    for (const [name, edit] of edits) {
      const file = path.join(dir, name);
      const after = vdb((o) => floats(o, edit))(readFileSync(file));
      rmSync(file);
      writeFileSync(file, after);
      const dim = (JSON.parse(after.toString('utf8')) as { embedding_dim: number }).embedding_dim;
      bad.push(ids(file)[name === 'vdb_entities.json' ? Math.floor((3072 + 7) / dim) : 0]!);
    }
    return { dir, bad };
  }

  it('the dry run names each of them with its reason and exits 0', async () => {
    const { dir, bad } = withBadVectors();
    const before = snapshot(dir, { includeBookkeeping: true });
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '--dry-run', '--connection-string', db.url]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('⚠️  3 records cannot be loaded and will be left out');
    expect(run.stdout).toContain(
      `vdb_chunks ${JSON.stringify(bad[0])}: its vector has NaN at dimension 5, which pgvector cannot store; re-embed this record in LightRAG`,
    );
    expect(run.stdout).toMatch(
      new RegExp(`vdb_entities ${JSON.stringify(bad[1])}: its vector has an infinite value at dimension \\d+`),
    );
    expect(run.stdout).toContain(
      `vdb_relationships ${JSON.stringify(bad[2])}: its vector has an infinite value at dimension 1,`,
    );
    expect(snapshot(dir, { includeBookkeeping: true })).toEqual(before);
  });

  it('a real migration loads every other record, verifies, promotes, reports the left-out ids and exits 3', async () => {
    const { dir, bad } = withBadVectors();
    const run = await hybridrag([
      'backend',
      'migrate',
      '--path',
      dir,
      '-y',
      '--json',
      '--connection-string',
      db.url,
      '--workspace',
      'nan_rejects',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3);
    const out = JSON.parse(run.stdout) as {
      outcome: string;
      exitCode: number;
      leftOut: number;
      verification?: { passed: boolean; reportFile: string; lines: string[] };
    };
    expect(out.outcome).toBe('promoted');
    expect(out.exitCode).toBe(3);
    expect(out.leftOut).toBe(3);
    expect(out.verification!.lines.find((l) => l.includes('vdb_chunks'))).toContain(
      `(1 left out: ${JSON.stringify(bad[0])}, e.g. its vector has NaN at dimension 5`,
    );
    const report = JSON.parse(readFileSync(out.verification!.reportFile, 'utf8')) as {
      passed: boolean;
      collections: {
        collection: string;
        sourceCount: number;
        rejected: number;
        targetCount: number;
        rejects: { id: string; reason: string }[];
      }[];
    };
    expect(report.passed).toBe(true);
    for (const [i, collection] of ['vdb_chunks', 'vdb_entities', 'vdb_relationships'].entries()) {
      const c = report.collections.find((x) => x.collection === collection)!;
      expect(c.rejected).toBe(1);
      expect(c.rejects).toEqual([
        {
          id: bad[i]!,
          reason: expect.stringMatching(
            /^its vector has (NaN|an infinite value) at dimension \d+, which pgvector cannot store/,
          ),
        },
      ]);
      expect(c.targetCount).toBe(c.sourceCount - 1);
    }
    const rows = await db.pool.query(`SELECT id FROM lightrag_vdb_chunks WHERE workspace = 'nan_rejects' AND id = $1`, [
      bad[0],
    ]);
    expect(rows.rowCount).toBe(0);
    expect(
      Number(
        (await db.pool.query(`SELECT count(*) AS n FROM lightrag_vdb_chunks WHERE workspace = 'nan_rejects'`)).rows[0]
          .n,
      ),
    ).toBe(ids(path.join(dir, 'vdb_chunks.json')).length - 1);
  });
});

describe('data files of no LightRAG PostgreSQL collection', () => {
  it('are named as not migrated by the dry run and the migration, and left as they are', async () => {
    const dir = copyFixture(FIXTURE);
    const extra = path.join(dir, 'kv_store_parse_cache.json');
    writeFileSync(extra, '{"doc-1": {"parsed": true}}');
    const dry = await hybridrag(['backend', 'migrate', '--path', dir, '--dry-run', '--connection-string', db.url]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      '⚠️  Not migrated: kv_store_parse_cache.json (no LightRAG PostgreSQL table holds this collection); it stays in the folder and in the backup',
    );
    const run = await hybridrag([
      'backend',
      'migrate',
      '--path',
      dir,
      '-y',
      '--connection-string',
      db.url,
      '--workspace',
      'unknown_files',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      '   note: Not migrated: kv_store_parse_cache.json (no LightRAG PostgreSQL table holds this collection)',
    );
    expect(readFileSync(extra, 'utf8')).toBe('{"doc-1": {"parsed": true}}');
  });
});
