/**
 * Phase 3: compares the staged (or production) tables with the source files, per collection:
 * counts, an order-independent checksum over exact bytes, a deterministic field-by-field sample,
 * vector dimensions, and on a mismatch the differing ids (data-diff style: 256 buckets by the
 * first byte of md5(id), then per-id digests for the mismatching buckets only).
 * Temporal-free: an activity calls verifyStaging and heartbeats from onProgress.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { CollectionPlan } from '../source/plan';
import type { CollectionName } from '../source/records';
import type { CollectionMapping, TableSpec } from '../postgres/layouts/types';
import { productionTable, rejectTable, stagingTable, type TargetPlan } from '../postgres/plan';
import {
  BUCKET_SQL,
  DIGEST64_SQL,
  NOW_SENTINEL,
  SAMPLE_KEY_SQL,
  coverageText,
  rowsSql,
  sendSql,
  verifyTable,
  type VerifyColumn,
  type VerifyTable,
} from './columns';
import type { CollectionVerification, DifferenceList, SampleMismatch, VerificationReport } from './report';
import { addRow, int64Of, sourcePass, type SourceStats } from './source';

export interface VerifyProgress {
  collection: string;
  table: string;
  phase: 'source' | 'target' | 'sample' | 'diff';
  batch?: number;
  batches?: number;
}

export interface VerifyOptions {
  /** share of rows compared field by field (default 0.01), at least minSample and at most maxSample rows */
  sampleRate?: number;
  minSample?: number;
  maxSample?: number;
  /** ids listed per kind of difference (default 100) */
  listLimit?: number;
  /** rows held in memory per diff pass (mismatching buckets are grouped to stay under it) */
  diffRowsPerPass?: number;
  onProgress?(info: VerifyProgress): void;
  signal?: AbortSignal;
  /** production table name → the qualified table to read (default: its staging table) */
  resolveTable?: (table: string) => string;
  /** table of finishStaging's duplicate report (default: the staging schema's `_rejects`; null: none) */
  rejectsTable?: string | null;
}

export interface VerifySource {
  collection: CollectionName;
  plan: CollectionPlan;
}

type Db = pg.Pool | pg.PoolClient;

/** Verifies the staging tables of `plan` (after finishStaging) against the planned source files. */
export function verifyStaging(
  pool: Db,
  plan: TargetPlan,
  sources: VerifySource[],
  options: VerifyOptions = {},
): Promise<VerificationReport> {
  return verifyTables(pool, plan, sources, { resolveTable: (t) => stagingTable(plan, t), ...options });
}

/** The same against the production tables after a promote (this workspace's rows only). */
export function verifyProduction(
  pool: Db,
  plan: TargetPlan,
  sources: VerifySource[],
  options: VerifyOptions = {},
): Promise<VerificationReport> {
  return verifyTables(pool, plan, sources, {
    resolveTable: (t) => productionTable(plan, t),
    rejectsTable: rejectTable(plan),
    ...options,
  });
}

interface TargetTotals {
  n: number;
  sum: bigint;
  bad: number;
  addedN: number;
  addedSum: bigint;
}

export async function verifyTables(
  pool: Db,
  plan: TargetPlan,
  sources: VerifySource[],
  options: VerifyOptions = {},
): Promise<VerificationReport> {
  const started = Date.now();
  const resolve = options.resolveTable ?? ((t: string) => stagingTable(plan, t));
  const duplicates = await duplicateHints(
    pool,
    options.rejectsTable === undefined ? rejectTable(plan) : options.rejectsTable,
  );
  const collections: CollectionVerification[] = [];
  for (const spec of plan.layout.tables) collections.push(...(await verifyOneTable(spec)));

  async function verifyOneTable(spec: TableSpec): Promise<CollectionVerification[]> {
    const collections: CollectionVerification[] = [];
    options.signal?.throwIfAborted();
    const table = resolve(spec.name);
    const halfvec = spec.vector ? await isHalfvec(pool, table, spec.vector.column) : false;
    const vt = verifyTable(plan, spec, table, { halfvec });
    const rows = rowsSql(vt, plan, resolve);
    const label = vt.collections.map((m) => m.collection).join('|') || spec.name;
    options.onProgress?.({ collection: label, table: spec.name, phase: 'target' });
    // the server computes its side while this process reads the files
    const targetQuery = pool
      .query<{ coll: string; n: string; s: string; bad: string; an: string; asum: string }>(
        `SELECT coll, count(*) AS n, coalesce(sum(${DIGEST64_SQL}), 0)::text AS s, count(*) FILTER (WHERE bad_dim) AS bad,
                count(*) FILTER (WHERE added) AS an, coalesce(sum(${DIGEST64_SQL}) FILTER (WHERE added), 0)::text AS asum
         FROM (${rows}) x GROUP BY coll`,
      )
      .then(
        (r) =>
          new Map(
            r.rows.map((x) => [
              x.coll,
              {
                n: Number(x.n),
                sum: BigInt(x.s),
                bad: Number(x.bad),
                addedN: Number(x.an),
                addedSum: BigInt(x.asum),
              } satisfies TargetTotals,
            ]),
          ),
      );
    targetQuery.catch(() => undefined);
    const passes: { mapping: CollectionMapping; source: VerifySource; stats: SourceStats; below: number }[] = [];
    try {
      for (const mapping of vt.collections) {
        const source = sources.find((s) => s.collection === mapping.collection);
        if (!source) continue;
        const below = sampleThreshold(source.plan.recordCount, options);
        const stats = await sourcePass(vt, mapping, source.plan, {
          sampleBelow: below,
          duplicateIds: duplicates.get(mapping.collection) ?? new Set(),
          ...(options.signal ? { signal: options.signal } : {}),
          onBatch: (batch, batches) =>
            options.onProgress?.({ collection: mapping.collection, table: spec.name, phase: 'source', batch, batches }),
        });
        passes.push({ mapping, source, stats, below });
      }
    } finally {
      await targetQuery.catch(() => undefined);
    }
    const totals = await targetQuery;
    const seen = new Set<string>();
    for (const { mapping, source, stats, below } of passes) {
      seen.add(mapping.collection);
      const ctx = { pool, plan, vt, rows, collection: mapping.collection, options };
      const rejectedDuplicates = await resolveDuplicates(ctx, stats);
      const expectedCount = stats.rows;
      const coveredByAdded = await subtractEndpointNodes(ctx, stats, resolve);
      const t = totals.get(mapping.collection) ?? { n: 0, sum: 0n, bad: 0, addedN: 0, addedSum: 0n };
      const added = t.addedN - coveredByAdded;
      const sourceChecksum = `${stats.rows}:${stats.sum}`;
      const targetChecksum = `${t.n - t.addedN}:${t.sum - t.addedSum}`;
      const match = sourceChecksum === targetChecksum;
      options.onProgress?.({ collection: mapping.collection, table: spec.name, phase: 'sample' });
      const sample = await compareSample(ctx, stats, below);
      const countsMatch = t.n === expectedCount + added;
      let differences: DifferenceList | null = null;
      if (!match || !countsMatch) {
        options.onProgress?.({ collection: mapping.collection, table: spec.name, phase: 'diff' });
        differences = await diff(
          ctx,
          source.plan,
          mapping,
          stats,
          duplicates.get(mapping.collection) ?? new Set(),
          resolve,
        );
      }
      const dimension = { expected: spec.vector?.dimension ?? null, bad: t.bad };
      collections.push({
        collection: mapping.collection,
        table: spec.name,
        passed:
          match &&
          countsMatch &&
          sample.mismatches.length === 0 &&
          dimension.bad === 0 &&
          (differences === null || differences.total === 0),
        sourceCount: stats.records,
        rejected: stats.rejected + rejectedDuplicates,
        rejects: stats.rejects,
        fitted: { records: stats.fittedRecords, values: stats.fittedValues, listed: stats.fits },
        expectedCount,
        targetCount: t.n,
        added,
        checksum: { source: sourceChecksum, target: targetChecksum, match },
        sample,
        dimension,
        differences,
        coverage: coverageText(vt),
      });
    }
    // rows of a collection that has no source file (or no mapping) are unexpected
    for (const [coll, t] of totals) {
      if (seen.has(coll) || t.n === 0) continue;
      collections.push({
        collection: coll,
        table: spec.name,
        passed: false,
        sourceCount: 0,
        rejected: 0,
        rejects: [],
        fitted: { records: 0, values: 0, listed: [] },
        expectedCount: 0,
        targetCount: t.n,
        added: 0,
        checksum: { source: '0:0', target: `${t.n}:${t.sum}`, match: false },
        sample: { checked: 0, mismatches: [] },
        dimension: { expected: spec.vector?.dimension ?? null, bad: t.bad },
        differences: {
          missing: [],
          extra: [],
          duplicate: [],
          changed: [],
          total: t.n,
          counts: { missing: 0, extra: t.n, duplicate: 0, changed: 0 },
        },
        coverage: `${coverageText(vt)}; the source has no file for this collection`,
      });
    }
    return collections;
  }
  return {
    passed: collections.every((c) => c.passed),
    layout: plan.layout.layout,
    workspace: plan.options.workspace,
    collections,
    durationMs: Date.now() - started,
  };
}

function sampleThreshold(n: number, o: VerifyOptions): number {
  if (n <= 0) return 0;
  const want = Math.min(Math.max(n * (o.sampleRate ?? 0.01), o.minSample ?? 50), o.maxSample ?? 2000);
  return Math.min(2 ** 32, Math.floor((want / n) * 2 ** 32));
}

async function isHalfvec(pool: Db, table: string, column: string): Promise<boolean> {
  const { rows } = await pool.query<{ t: string | null }>(
    `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2`,
    [table, column],
  );
  return (rows[0]?.t ?? '').startsWith('halfvec');
}

/** Ids finishStaging removed as cross-batch duplicates (it keeps the row loaded last). */
async function duplicateHints(pool: Db, rejects: string | null): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (!rejects) return out;
  const { rows } = await pool
    .query<{ collection: string; id: string }>(
      `SELECT DISTINCT collection, id FROM ${rejects} WHERE batch_index IS NULL AND reason LIKE 'duplicate id%'`,
    )
    .catch((error: { code?: string }) => {
      if (error.code === '42P01') return { rows: [] as { collection: string; id: string }[] };
      throw error;
    });
  for (const r of rows) for (const c of r.collection.split('|')) out.set(c, (out.get(c) ?? new Set()).add(r.id));
  return out;
}

interface Ctx {
  pool: Db;
  plan: TargetPlan;
  vt: VerifyTable;
  rows: string;
  collection: string;
  options: VerifyOptions;
}

async function targetDigests(
  ctx: Ctx,
  where: string,
  params: unknown[],
): Promise<{ id: string; h: string; added: boolean }[]> {
  const { rows } = await ctx.pool.query<{ id: string; h: string; added: boolean }>(
    `SELECT id, h, added FROM (${ctx.rows}) x WHERE coll = $1 AND ${where}`,
    [ctx.collection, ...params],
  );
  return rows;
}

/**
 * A cross-batch duplicate id has several source records and one row; the row must be one of them.
 * The kept candidate (or, when none matches, the last one, so the checksum fails) joins the totals.
 */
async function resolveDuplicates(ctx: Ctx, s: SourceStats, keepBuckets?: ReadonlySet<number>): Promise<number> {
  if (s.duplicateCandidates.size === 0) return 0;
  const target = await targetDigests(ctx, 'id = ANY($2::text[])', [[...s.duplicateCandidates.keys()]]);
  let rejected = 0;
  for (const [id, candidates] of s.duplicateCandidates) {
    const kept = target.filter((r) => r.id === id).map((r) => Buffer.from(r.h, 'hex'));
    const chosen = candidates.find((c) => kept.some((k) => k.equals(c))) ?? candidates[candidates.length - 1]!;
    addRow(s, id, chosen, keepBuckets);
    rejected += candidates.length - 1;
  }
  s.duplicateCandidates.clear();
  return rejected;
}

/**
 * Source nodes without attributes map to exactly the row finishStaging adds for an endpoint, so
 * the server cannot tell them apart: those that are edge endpoints leave the source totals (the
 * server's totals leave out every such row) and are counted among the added rows.
 */
async function subtractEndpointNodes(
  ctx: Ctx,
  s: SourceStats,
  resolve: (t: string) => string,
  keepBuckets?: ReadonlySet<number>,
): Promise<number> {
  const e = ctx.vt.endpointNodes;
  if (!e || s.attributeless.size === 0) return 0;
  const edges = resolve(e.edgesTable);
  const { rows } = await ctx.pool.query<{ id: string }>(
    `SELECT DISTINCT id FROM (SELECT "${e.src}" AS id FROM ${edges} UNION SELECT "${e.tgt}" FROM ${edges}) ep WHERE id = ANY($1::text[])`,
    [[...s.attributeless.keys()]],
  );
  for (const { id } of rows) {
    const d = s.attributeless.get(id)!;
    const b = createHash('md5').update(id, 'utf8').digest()[0]!;
    s.rows--;
    s.sum -= int64Of(d);
    s.bucketCount[b]!--;
    s.bucketSum[b]! -= int64Of(d);
    if (keepBuckets?.has(b)) {
      const list = (s.perId.get(id) ?? []).filter((x) => !x.equals(d));
      if (list.length) s.perId.set(id, list);
      else s.perId.delete(id);
    }
  }
  return rows.length;
}

// ------------------------------------------------------------------------------------------ sample

async function compareSample(
  ctx: Ctx,
  s: SourceStats,
  below: number,
): Promise<{ checked: number; mismatches: SampleMismatch[] }> {
  const { vt } = ctx;
  const limit = ctx.options.listLimit ?? 100;
  const cols = vt.columns;
  const { rows } = await ctx.pool.query<Record<string, unknown>>(
    `SELECT id, added${cols.map((_, i) => `, f${i}`).join('')} FROM (${sampleRowsSql(ctx)}) x WHERE coll = $1 AND ${SAMPLE_KEY_SQL} < $2`,
    [ctx.collection, below],
  );
  const mismatches: SampleMismatch[] = [];
  const push = (m: SampleMismatch) => {
    if (mismatches.length < limit) mismatches.push(m);
  };
  const byId = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) byId.set(r.id as string, [...(byId.get(r.id as string) ?? []), r]);
  const sourceIds = new Set<string>();
  for (const src of s.sample) {
    sourceIds.add(src.id);
    const tgt = byId.get(src.id) ?? [];
    if (tgt.length === 0) {
      push({ id: src.id, column: '*', source: 'record', target: 'no row' });
      continue;
    }
    if (tgt.length > 1) push({ id: src.id, column: '*', source: '1 record', target: `${tgt.length} rows` });
    const t = tgt[0]!;
    for (const c of cols) {
      const sv = src.fields[c.index] ?? null;
      const tv = (t[`f${c.index}`] as Buffer | null) ?? null;
      if (c.excluded === 'load-time' && src.row[c.index] === NOW_SENTINEL) continue;
      if (c.excluded === 'finish-step' && sv === null) continue;
      if (sv === null || tv === null) {
        if (sv !== tv) push({ id: src.id, column: c.name, source: render(c, sv), target: render(c, tv) });
        continue;
      }
      if (sv.equals(tv)) continue;
      if (c.type === 'vector' && sv.length === tv.length && sv.length >= 4) {
        let shown = 0;
        for (let i = 4; i + 4 <= sv.length && shown < 3; i += 4) {
          if (sv.readUInt32BE(i) !== tv.readUInt32BE(i)) {
            push({
              id: src.id,
              column: c.name,
              index: (i - 4) / 4,
              source: String(sv.readFloatBE(i)),
              target: String(tv.readFloatBE(i)),
            });
            shown++;
          }
        }
        continue;
      }
      push({ id: src.id, column: c.name, source: render(c, sv), target: render(c, tv) });
    }
  }
  for (const r of rows) {
    if (!sourceIds.has(r.id as string) && !r.added)
      push({ id: r.id as string, column: '*', source: 'no record', target: 'row' });
  }
  return { checked: s.sample.length, mismatches };
}

function sampleRowsSql(ctx: Ctx): string {
  return rowsSql(
    ctx.vt,
    ctx.plan,
    resolveOf(ctx),
    ctx.vt.columns.map((c, i) => `${sendSql(ctx.vt, c)} AS f${i}`),
  );
}

function resolveOf(ctx: Ctx): (t: string) => string {
  return ctx.options.resolveTable ?? ((t: string) => stagingTable(ctx.plan, t));
}

function render(c: VerifyColumn, b: Buffer | null): string {
  if (b === null) return 'NULL';
  let s: string;
  switch (c.type) {
    case 'int4':
      s = b.length === 4 ? String(b.readInt32BE(0)) : b.toString('hex');
      break;
    case 'int8':
      s = b.length === 8 ? String(b.readBigInt64BE(0)) : b.toString('hex');
      break;
    case 'float8':
      s = b.length === 8 ? String(b.readDoubleBE(0)) : b.toString('hex');
      break;
    case 'timestamp':
    case 'timestamptz':
      s =
        b.length === 8
          ? new Date(Number(b.readBigInt64BE(0) / 1000n) + 946_684_800_000).toISOString()
          : b.toString('hex');
      break;
    case 'text':
    case 'jsonb':
      s = JSON.stringify(b.toString('utf8'));
      break;
    default:
      s = `0x${b.toString('hex')}`;
  }
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

// ------------------------------------------------------------------------------------------ diff

async function diff(
  ctx: Ctx,
  plan: CollectionPlan,
  mapping: CollectionMapping,
  first: SourceStats,
  dupIds: ReadonlySet<string>,
  resolve: (t: string) => string,
): Promise<DifferenceList> {
  const limit = ctx.options.listLimit ?? 100;
  const perPass = ctx.options.diffRowsPerPass ?? 200_000;
  const { rows } = await ctx.pool.query<{ b: number; n: string; s: string }>(
    `SELECT ${BUCKET_SQL} AS b, count(*) AS n, coalesce(sum(${DIGEST64_SQL}), 0)::text AS s FROM (${ctx.rows}) x WHERE coll = $1 AND NOT added GROUP BY 1`,
    [ctx.collection],
  );
  const tgt = new Map(rows.map((r) => [r.b, { n: Number(r.n), s: BigInt(r.s) }]));
  const buckets: number[] = [];
  for (let b = 0; b < 256; b++) {
    const t = tgt.get(b) ?? { n: 0, s: 0n };
    if (t.n !== first.bucketCount[b] || t.s !== first.bucketSum[b]) buckets.push(b);
  }
  // group mismatching buckets so that each pass holds at most ~perPass digests
  const groups: number[][] = [];
  let cur: number[] = [];
  let size = 0;
  for (const b of buckets) {
    const n = first.bucketCount[b]! + (tgt.get(b)?.n ?? 0);
    if (cur.length && size + n > perPass) {
      groups.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(b);
    size += n;
  }
  if (cur.length) groups.push(cur);

  const out: DifferenceList = {
    missing: [],
    extra: [],
    duplicate: [],
    changed: [],
    total: 0,
    counts: { missing: 0, extra: 0, duplicate: 0, changed: 0 },
  };
  const note = (kind: 'missing' | 'extra' | 'duplicate' | 'changed', id: string) => {
    out.counts[kind]++;
    out.total++;
    if (out[kind].length < limit) out[kind].push(id);
  };
  for (const group of groups) {
    const keep = new Set(group);
    const s = await sourcePass(ctx.vt, mapping, plan, {
      sampleBelow: 0,
      duplicateIds: dupIds,
      keepBuckets: keep,
      ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
      onBatch: (batch, batches) =>
        ctx.options.onProgress?.({
          collection: ctx.collection,
          table: ctx.vt.spec.name,
          phase: 'diff',
          batch,
          batches,
        }),
    });
    await resolveDuplicates(ctx, s, keep);
    await subtractEndpointNodes(ctx, s, resolve, keep);
    const t = new Map<string, string[]>();
    for (const r of await targetDigests(ctx, `NOT added AND ${BUCKET_SQL} = ANY($2::int[])`, [group]))
      t.set(r.id, [...(t.get(r.id) ?? []), r.h]);
    for (const [id, digests] of s.perId) {
      const rowsOf = t.get(id);
      t.delete(id);
      if (!rowsOf) note('missing', id);
      else if (rowsOf.length > 1 || digests.length > 1) note('duplicate', id);
      else if (digests[0]!.toString('hex') !== rowsOf[0]) note('changed', id);
    }
    for (const [id, rowsOf] of t) note(rowsOf.length > 1 ? 'duplicate' : 'extra', id);
  }
  return out;
}
