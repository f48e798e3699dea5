/**
 * Hardening: the PostgreSQL side through the real CLI. Bad connection strings, missing pgvector or
 * privileges fail before anything is written (not even the state file); hostile workspace and
 * database names either land exactly where named or are refused; the password appears nowhere;
 * files the tool writes are owner-only.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hybridrag } from '../helpers/cli';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/db';
import { copyFixture } from '../helpers/fixtures';
import { historyText } from '../helpers/temporal';
import { admin, adminUrl, expectOneLineError, ident, productionRows, snapshot } from './helpers';

const FIXTURE = 'nyedr__desktop-llm__lightrag'; // tiny: 1 doc, 1 chunk, 3 entities, 768 dims
let db: ScratchDatabase;
const suffix = randomBytes(4).toString('hex');
const role = `hr_role_${suffix}`;
const password = `S3cr3t-${randomBytes(9).toString('hex')}`;
const roleUrl = (database: string, pw = password) => {
  const u = new URL(adminUrl(database));
  u.username = role;
  u.password = pw;
  return u.toString();
};
const extraDatabases: string[] = [];

beforeAll(async () => {
  db = await createScratchDatabase('hard_tgt');
  await admin(async (c) => {
    await c.query(`CREATE ROLE ${ident(role)} LOGIN PASSWORD '${password}'`);
  });
});
afterAll(async () => {
  await db?.drop();
  await admin(async (c) => {
    for (const name of extraDatabases) await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    await c.query(`DROP OWNED BY ${ident(role)}`).catch(() => undefined);
    await c.query(`DROP ROLE IF EXISTS ${ident(role)}`);
  });
});

/** A scratch database whose `public` schema belongs to the role; no CREATE on the database; pgvector optional. */
async function roleDatabase(options: { pgvector: boolean; createOnDatabase: boolean }): Promise<string> {
  const name = `hard_role_${randomBytes(5).toString('hex')}`;
  extraDatabases.push(name);
  await admin((c) => c.query(`CREATE DATABASE ${ident(name)}`));
  await admin(async (c) => {
    await c.query(`REVOKE ALL ON DATABASE ${ident(name)} FROM PUBLIC`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${ident(name)} TO ${ident(role)}`);
    await c.query(`ALTER SCHEMA public OWNER TO ${ident(role)}`);
    if (options.pgvector) await c.query('CREATE EXTENSION vector');
    if (options.createOnDatabase) await c.query(`GRANT CREATE ON DATABASE ${ident(name)} TO ${ident(role)}`);
  }, name);
  return name;
}

describe('connection strings that cannot work: refused before anything is written', () => {
  const cases: [string, () => string, RegExp][] = [
    ['malformed', () => 'postgres//nohost:abc', /not a valid URL; write it as postgres:\/\/user/],
    ['wrong scheme', () => 'mysql://u:p@127.0.0.1/x', /must start with postgres:\/\/ or postgresql:\/\//],
    [
      'points nowhere (closed port)',
      () => 'postgres://u:pw@127.0.0.1:1/x',
      /refuses connections at 127\.0\.0\.1:1; start it .* or fix the host and port/,
    ],
    [
      'unresolvable host',
      () => 'postgres://u:pw@no-such-host.invalid:5432/x',
      /cannot be resolved; check the host name/,
    ],
    [
      'wrong password',
      () => roleUrl(db.name, `${password}-wrong`),
      /rejected the login of user .*; check the user and password/,
    ],
    [
      'database that does not exist',
      () => roleUrl(`${db.name}_missing`),
      /database .*_missing" does not exist .*create it/,
    ],
  ];
  it.each(cases)('%s', async (_name, url, pattern) => {
    const dir = copyFixture(FIXTURE);
    const before = snapshot(dir, { includeBookkeeping: true });
    const started = Date.now();
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '-y', '--connection-string', url()]);
    expectOneLineError(run, pattern);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(snapshot(dir, { includeBookkeeping: true })).toEqual(before);
    expect(`${run.stdout}${run.stderr}`).not.toContain(password);
  });

  it('a server without pgvector for this role: names the extension and who must create it', async () => {
    const name = await roleDatabase({ pgvector: false, createOnDatabase: true });
    const dir = copyFixture(FIXTURE);
    const before = snapshot(dir, { includeBookkeeping: true });
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '-y', '--connection-string', roleUrl(name)]);
    expectOneLineError(
      run,
      /pgvector .* not created in database .* may not create it; ask an administrator to run CREATE EXTENSION vector/,
    );
    expect(snapshot(dir, { includeBookkeeping: true })).toEqual(before);
    expect(await productionRows(adminUrl(name))).toEqual({});
  });

  it('a role that owns only its target schema: the error names the missing CREATE privilege; granted, the migration works', async () => {
    const name = await roleDatabase({ pgvector: true, createOnDatabase: false });
    const dir = copyFixture(FIXTURE);
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '-y', '--connection-string', roleUrl(name)]);
    expectOneLineError(
      run,
      new RegExp(`lacks the CREATE privilege on database "${name}".*GRANT CREATE ON DATABASE "${name}" TO "${role}"`),
    );
    expect(await productionRows(adminUrl(name))).toEqual({});
    await admin((c) => c.query(`GRANT CREATE ON DATABASE ${ident(name)} TO ${ident(role)}`));
    const ok = await hybridrag(['backend', 'migrate', '--path', dir, '-y', '--connection-string', roleUrl(name)]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const rows = await productionRows(adminUrl(name));
    expect(rows['public.lightrag_vdb_entity']).toBe(3);
  });
});

describe('hostile names', () => {
  const workspaces = [`x"; DROP TABLE lightrag_doc_full; --`, `a'b;c) OR 1=1 --`, 'with space ünïcödé 空间 🚀'];
  it.each(workspaces)(
    'workspace %j: the rows land in exactly that workspace, and no table is dropped',
    async (workspace) => {
      const dir = copyFixture(FIXTURE);
      const run = await hybridrag([
        'backend',
        'migrate',
        '--path',
        dir,
        '-y',
        '--connection-string',
        db.url,
        '--workspace',
        workspace,
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const { rows } = await db.pool.query<{ workspace: string; n: string }>(
        `SELECT workspace, count(*) AS n FROM lightrag_vdb_entity GROUP BY workspace`,
      );
      expect(rows.find((r) => r.workspace === workspace)?.n).toBe('3');
      const docs = await db.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM lightrag_doc_full WHERE workspace = $1`,
        [workspace],
      );
      expect(docs.rows[0]!.n).toBe('1');
    },
  );
  it('a 300-character workspace, a "/" and "..": refused as a usage error', async () => {
    for (const workspace of ['w'.repeat(300), 'a/b', '..']) {
      const dir = copyFixture(FIXTURE);
      const before = snapshot(dir, { includeBookkeeping: true });
      const run = await hybridrag([
        'backend',
        'migrate',
        '--path',
        dir,
        '-y',
        '--connection-string',
        db.url,
        '--workspace',
        workspace,
      ]);
      expectOneLineError(run, /workspace/i, 2);
      expect(snapshot(dir, { includeBookkeeping: true })).toEqual(before);
    }
  });
  it('a database name with quotes, a semicolon, spaces and unicode works; a 300-character one is refused', async () => {
    const name = `hard "q'; DROP DATABASE x; ü ${suffix}`;
    extraDatabases.push(name);
    await admin(async (c) => c.query(`CREATE DATABASE ${ident(name)}`));
    await admin((c) => c.query('CREATE EXTENSION vector'), name);
    const dir = copyFixture(FIXTURE);
    const run = await hybridrag(['backend', 'migrate', '--path', dir, '-y', '--connection-string', adminUrl(name)]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await productionRows(adminUrl(name)))['public.lightrag_vdb_entity']).toBe(3);
    const long = await hybridrag([
      'backend',
      'migrate',
      '--path',
      copyFixture(FIXTURE),
      '-y',
      '--connection-string',
      adminUrl('d'.repeat(300)),
    ]);
    expectOneLineError(long);
  });
});

describe('secrets and file modes', () => {
  it('the password appears nowhere: histories (with children), search attributes, output, state, reports, backup metadata, registry; files are 0600', async () => {
    const name = await roleDatabase({ pgvector: true, createOnDatabase: true });
    const dir = copyFixture(FIXTURE);
    const reg = path.join(dir, '..', `registry-${suffix}.yaml`);
    writeFileSync(reg, `databases:\n  secretdb:\n    path: ${dir}\n    backend_type: json\n`);
    const run = await hybridrag(
      ['backend', 'migrate', 'secretdb', '--staged', '-y', '--connection-string', roleUrl(name), '--json'],
      { HYBRIDRAG_CONFIG: reg, HYBRIDRAG_WORKER_LOG_LEVEL: 'DEBUG' },
    );
    expect(run.stderr).not.toContain(password);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain(password);

    // every workflow of this migration, children included
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const client = new Client({ connection });
    try {
      const state = JSON.parse(readFileSync(path.join(dir, '.migration_state.json'), 'utf8')) as {
        workflow_id: string;
      };
      const ids: string[] = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${state.workflow_id}"` }))
        ids.push(wf.workflowId);
      expect(ids.length).toBeGreaterThan(3);
      for (const id of ids) {
        const handle = client.workflow.getHandle(id);
        expect(historyText(await handle.fetchHistory())).not.toContain(password);
        expect(JSON.stringify((await handle.describe()).raw)).not.toContain(password);
      }
    } finally {
      await connection.close();
    }

    // every file the tool wrote, and the registry (plus its copy)
    const files = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
    const written = files.filter((f) => /\.migration_state\.json$|\.migration_reports\/|\.backups\//.test(f));
    expect(written.some((f) => /\.tar(\.gz)?$/.test(f))).toBe(true);
    expect(written.some((f) => f.endsWith('.meta.json'))).toBe(true);
    expect(written.some((f) => f.includes('.migration_reports'))).toBe(true);
    for (const f of [
      ...files,
      ...readdirSync(path.dirname(reg))
        .filter((n) => n.startsWith(`registry-${suffix}`))
        .map((n) => path.join(path.dirname(reg), n)),
    ]) {
      expect(readFileSync(f).includes(password), f).toBe(false);
    }
    expect(readFileSync(reg, 'utf8')).toContain('backend_type: postgres');
    for (const f of written.filter((x) => !x.includes('/.backups/') || /\.(tar\.gz|meta\.json)$/.test(x))) {
      expect({ f, mode: (statSync(f).mode & 0o777).toString(8) }).toEqual({ f, mode: '600' });
    }
  });
});
