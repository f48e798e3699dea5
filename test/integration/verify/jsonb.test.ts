import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jsonbText } from '../../../core/verify';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';
import { FIXTURES as REAL } from '../../helpers/fixtures';
import { planFixture } from './stageSources';
import { readBatch } from '../../../core/source';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('verifyjson');
});
afterAll(async () => {
  await db?.drop();
});

/** Every JSON value reachable in a value (itself, its members, recursively). */
function* values(v: unknown): Generator<unknown> {
  yield v;
  if (Array.isArray(v)) for (const x of v) yield* values(x);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) yield* values(x);
}

async function serverText(inputs: unknown[]): Promise<string[]> {
  const { rows } = await db.pool.query<{ t: string }>(
    `SELECT j::jsonb::text AS t FROM unnest($1::text[]) WITH ORDINALITY u(j, o) ORDER BY o`,
    [inputs.map((v) => JSON.stringify(v))],
  );
  return rows.map((r) => r.t);
}

it('jsonbText equals jsonb::text for edge cases', async () => {
  const cases: unknown[] = [
    1e-7,
    1.5e-7,
    1e21,
    1.5e300,
    5e-324,
    -0,
    0.1,
    -123.456,
    123456789012345680000,
    2 ** 53,
    1e-6,
    12e-20,
    Number.MAX_VALUE,
    { b: 1, a: 2, aa: 3, é: 4, z: 5, '': 6, '10': 7, '9': 8 },
    [],
    {},
    [[], {}, [null]],
    'tab\tnl\ncr\rbs\\q"\u0001\u001f\u007f\u2028😀',
    { nested: { x: [1, 'two', { y: null, yy: true, b: false }] } },
    { nan: Number.NaN, inf: Infinity, u: undefined },
    [undefined, () => 1],
  ];
  expect(cases.map(jsonbText)).toEqual(await serverText(cases));
});

it('jsonbText equals jsonb::text for every JSON value of the real fixtures', async () => {
  const top = readdirSync(REAL, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const sub = top.flatMap((d) =>
    readdirSync(path.join(REAL, d), { withFileTypes: true })
      .filter((x) => x.isDirectory())
      .map((x) => path.join(d, x.name)),
  );
  const dirs = [...top, ...sub].filter((d) => readdirSync(path.join(REAL, d)).some((f) => f.startsWith('kv_store_')));
  expect(dirs.length).toBeGreaterThanOrEqual(11);
  let checked = 0;
  for (const dir of dirs) {
    const { sources } = await planFixture(path.join(REAL, dir), 50);
    const all: unknown[] = [];
    for (const { plan } of sources) {
      for (let k = 0; k < plan.batches.length; k++) {
        for (const r of (await readBatch(plan, k)) as unknown as Record<string, unknown>[]) {
          const v = 'value' in r ? r.value : 'fields' in r ? r.fields : r.attributes;
          for (const x of values(v)) all.push(x);
        }
      }
    }
    for (let i = 0; i < all.length; i += 2000) {
      const chunk = all.slice(i, i + 2000);
      const server = await serverText(chunk);
      chunk.forEach((v, j) => expect(jsonbText(v), `${dir}: ${JSON.stringify(v).slice(0, 200)}`).toBe(server[j]));
    }
    checked += all.length;
  }
  expect(checked).toBeGreaterThan(10_000);
  // the real fixture files themselves are never written
  expect(readFileSync(path.join(REAL, 'MANIFEST.tsv'), 'utf8').length).toBeGreaterThan(0);
});
