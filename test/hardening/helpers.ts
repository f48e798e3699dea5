import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect, inject } from 'vitest';
import type { CliRun } from '../helpers/cli';

/** The tool's own bookkeeping in a database folder (documented in README "What lands where"). */
export const BOOKKEEPING = /^(\.migration_state\.json|\.migration_plans|\.migration_reports|\.backups)(\/|$)/;

/** Every file below a folder: relative name, size and sha256 — proof that nothing was changed. */
export function snapshot(dir: string, options: { includeBookkeeping?: boolean } = {}): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      return { rel: path.relative(dir, file), file };
    })
    .filter(({ rel }) => options.includeBookkeeping || !BOOKKEEPING.test(rel))
    .map(
      ({ rel, file }) =>
        `${rel} ${statSync(file).size} ${createHash('sha256').update(readFileSync(file)).digest('hex')}`,
    )
    .sort();
}

/** A user mistake: non-zero exit, no stack trace, stderr exactly one line `error: …`. */
export function expectOneLineError(run: CliRun, pattern?: RegExp, code?: number): void {
  const context = `stdout: ${run.stdout}\nstderr: ${run.stderr}`;
  expect(run.code, context).not.toBe(0);
  expect(run.code, context).not.toBe(70);
  if (code !== undefined) expect(run.code, context).toBe(code);
  expect(run.stderr, context).toMatch(/^error: [^\n]+\n$/);
  expect(run.stderr, context).not.toMatch(/\n\s+at /);
  if (pattern) expect(run.stderr, context).toMatch(pattern);
}

/** Production (non-staging) tables of a database with their row counts. */
export async function productionRows(url: string): Promise<Record<string, number>> {
  const client = new pg.Client(
    url.includes('://')
      ? { ...clientConfig(decodeURIComponent(new URL(url).pathname.slice(1))) }
      : { connectionString: url },
  );
  await client.connect();
  try {
    const { rows } = await client.query<{ s: string; t: string }>(
      `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'hybridrag_stage_%' AND table_schema NOT LIKE 'hybridrag_prev_%'`,
    );
    const out: Record<string, number> = {};
    for (const r of rows) {
      const n = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${r.s}"."${r.t}"`);
      out[`${r.s}.${r.t}`] = Number(n.rows[0]!.n);
    }
    return out;
  } finally {
    await client.end();
  }
}

export function adminUrl(database?: string): string {
  const url = new URL(inject('databaseUrl'));
  if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** Client config for a database (an object, not a URL: pg's URL parser does not decode every %XX). */
export function clientConfig(database?: string): pg.ClientConfig {
  const url = new URL(inject('databaseUrl'));
  return {
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: database ?? decodeURIComponent(url.pathname.slice(1)),
  };
}

export async function admin<T>(body: (c: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const client = new pg.Client(clientConfig(database));
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
