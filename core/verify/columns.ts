/**
 * What the checksum of each table covers, and the SQL that computes the same bytes as the source
 * side. A row's digest is md5 over its covered columns in TableSpec.copyColumns order, each as
 * COPY BINARY writes a field: int32 byte length (-1 for NULL) then the type's send bytes —
 * text: UTF-8; int4/int8/float8/bool/timestamp: big-endian (int4send …); vector: vector_send
 * (int16 dim, int16 0, float4 big-endian); arrays: array_send; jsonb: its canonical text
 * (jsonb::text, see jsonb.ts) instead of the loader's JSON.stringify text.
 */
import type { CollectionName, GraphEdge, GraphNode, KvRecord, VectorRecord } from '../source/records';
import { GRAPH_COLLECTIONS, KV_COLLECTIONS, VECTOR_COLLECTIONS } from '../source/records';
import { copyTypes } from '../postgres/loader';
import { quoteIdent, quoteLiteral } from '../postgres/identifiers';
import type { AnyRecord, CollectionMapping, TableSpec } from '../postgres/layouts/types';
import type { CopyType } from '../postgres/copy/binaryEncoder';
import type { TargetPlan } from '../postgres/plan';

export interface VerifyColumn {
  name: string;
  type: CopyType;
  /** position in copyColumns (= in the mapped row) */
  index: number;
  covered: boolean;
  /** why a column is not covered by the checksum */
  excluded?: 'load-time' | 'finish-step';
  /** TIMESTAMP(p) precision (6 when unspecified) */
  precision: number;
}

export interface VerifyTable {
  spec: TableSpec;
  /** qualified table name the queries read */
  table: string;
  columns: VerifyColumn[];
  types: CopyType[];
  collections: CollectionMapping[];
  hasCollectionColumn: boolean;
  /** SQL (over alias r) of the record id the mapper reports: identity columns joined with ' -> ' */
  idSql: string;
  /** vector column stored as halfvec (a promoted production table): floats are compared as float16 */
  halfvec: boolean;
  /** layout lightrag graph nodes: finishStaging adds `{entity_id}` rows for edge endpoints */
  endpointNodes?: { edgesTable: string; src: string; tgt: string; properties: number };
}

/** `now` passed to the mappers by the verifier: recognisable, never a source time (those are > 0 s). */
export const NOW_SENTINEL = 1;

/** Columns finishStaging's UPDATE steps may fill (SET a = …, b = …), per production table. */
export function finishFilledColumns(plan: TargetPlan): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const step of plan.layout.finishSteps) {
    const m = /^\s*UPDATE\s+\$T0\b[\s\S]*?\bSET\b([\s\S]*?)(?:\bFROM\b|\bWHERE\b|$)/i.exec(step.sql);
    const table = step.tables[0];
    if (!m || !table) continue;
    const set = out.get(table) ?? new Set<string>();
    for (const c of m[1]!.matchAll(/(?:^|,)\s*"?([A-Za-z_][A-Za-z0-9_]*)"?\s*=/g)) set.add(c[1]!);
    out.set(table, set);
  }
  return out;
}

function probeRecord(collection: CollectionName, dim: number): AnyRecord {
  if ((KV_COLLECTIONS as readonly string[]).includes(collection)) return { key: 'probe', value: {} } satisfies KvRecord;
  if ((VECTOR_COLLECTIONS as readonly string[]).includes(collection))
    return { id: 'probe', fields: {}, vector: new Float32Array(dim) } satisfies VectorRecord;
  if (collection === GRAPH_COLLECTIONS[0]) return { id: 'probe', attributes: {} } satisfies GraphNode;
  return { source: 'a', target: 'b', attributes: {} } satisfies GraphEdge;
}

/**
 * Timestamp columns a mapper fills with the load time when the record has none: found by mapping
 * an empty record with two different `now`s (what changes is load-time filled). Such columns are
 * not covered by the checksum; the sample still compares them where the record carries a time.
 */
function loadTimeColumns(
  plan: TargetPlan,
  mapping: CollectionMapping,
  spec: TableSpec,
  types: CopyType[],
): Set<string> {
  const rec = probeRecord(mapping.collection, spec.vector?.dimension ?? plan.options.dimension);
  const a = mapping.map(rec, 1_000);
  const b = mapping.map(rec, 2_000);
  const out = new Set<string>();
  spec.copyColumns.forEach((name, i) => {
    if (types[i] !== 'timestamp' && types[i] !== 'timestamptz') return;
    if (!a.ok || !b.ok || a.row[i] !== b.row[i]) out.add(name);
  });
  return out;
}

export function verifyTable(
  plan: TargetPlan,
  spec: TableSpec,
  table: string,
  opts: { halfvec?: boolean } = {},
): VerifyTable {
  const types = copyTypes(spec);
  const collections = Object.values(plan.layout.collections).filter(
    (m): m is CollectionMapping => !!m && m.table === spec.name,
  );
  const loadTime = new Set<string>();
  for (const m of collections) for (const c of loadTimeColumns(plan, m, spec, types)) loadTime.add(c);
  const finish = finishFilledColumns(plan).get(spec.name) ?? new Set<string>();
  const columns: VerifyColumn[] = spec.copyColumns.map((name, index) => {
    const sqlType = spec.columns.find((c) => c.name === name)?.sqlType ?? '';
    const p = /^TIMESTAMP(?:TZ)?\s*\((\d)\)/i.exec(sqlType);
    const excluded = loadTime.has(name)
      ? ('load-time' as const)
      : finish.has(name)
        ? ('finish-step' as const)
        : undefined;
    return {
      name,
      type: types[index]!,
      index,
      covered: !excluded,
      ...(excluded ? { excluded } : {}),
      precision: p ? Number(p[1]) : 6,
    };
  });
  const idCols = spec.identity.filter((k) => k !== 'namespace' && k !== 'collection');
  const idSql = idCols.map((k) => `r.${quoteIdent(k)}::text`).join(` || ' -> ' || `);
  const out: VerifyTable = {
    spec,
    table,
    columns,
    types,
    collections,
    hasCollectionColumn: spec.columns.some((c) => c.name === 'collection'),
    idSql,
    halfvec: opts.halfvec ?? false,
  };
  const nodes = collections.find((m) => m.collection === 'graph_nodes');
  const addStep = plan.layout.finishSteps.find(
    (s) => /^\s*INSERT\s+INTO\s+\$T0\b/i.test(s.sql) && s.tables[0] === spec.name,
  );
  if (nodes && addStep && addStep.tables[1]) {
    const edgeSpec = plan.layout.tables.find((t) => t.name === addStep.tables[1]);
    const ends = edgeSpec?.identity.filter((k) => k !== 'namespace') ?? [];
    const properties = spec.copyColumns.indexOf('properties');
    if (ends.length === 2 && properties >= 0)
      out.endpointNodes = { edgesTable: addStep.tables[1], src: ends[0]!, tgt: ends[1]!, properties };
  }
  return out;
}

/** The send bytes of one column (NULL stays NULL), as the source side hashes them. */
export function sendSql(t: VerifyTable, c: VerifyColumn): string {
  const col = `r.${quoteIdent(c.name)}`;
  switch (c.type) {
    case 'text':
    case 'jsonb':
      return `convert_to(${col}::text, 'UTF8')`;
    case 'int4':
      return `int4send(${col})`;
    case 'int8':
      return `int8send(${col})`;
    case 'float8':
      return `float8send(${col})`;
    case 'bool':
      return `boolsend(${col})`;
    case 'timestamp':
      return `timestamp_send(${col})`;
    case 'timestamptz':
      return `timestamptz_send(${col})`;
    case 'vector':
      return t.halfvec ? `vector_send(${col}::vector)` : `vector_send(${col})`;
    case 'varchar[]':
    case 'text[]':
      return `array_send(${col})`;
  }
}

/** A COPY BINARY field: int32 length then the bytes, or int32 -1 for NULL. */
export const fieldSql = (send: string): string =>
  `coalesce(int4send(length(${send})) || ${send}, decode('ffffffff', 'hex'))`;

export function digestSql(t: VerifyTable): string {
  const parts = t.columns.filter((c) => c.covered).map((c) => fieldSql(sendSql(t, c)));
  return parts.length ? `md5(${parts.join(' || ')})` : `md5(''::bytea)`;
}

/**
 * The rows of a table as (coll, id, h = hex digest, bad_dim, added) — the one row source every
 * target-side query reads. `extra` adds more select items (over alias r).
 */
export function rowsSql(
  t: VerifyTable,
  plan: TargetPlan,
  resolve: (table: string) => string,
  extra: string[] = [],
): string {
  const coll = t.hasCollectionColumn
    ? 'r."collection"::text'
    : quoteLiteral(t.collections[0]?.collection ?? t.spec.name);
  const v = t.spec.vector;
  const badDim = v
    ? `(r.${quoteIdent(v.column)} IS NULL OR vector_dims(r.${quoteIdent(v.column)}) <> ${Number(v.dimension)})`
    : 'false';
  const ws = quoteLiteral(plan.options.workspace);
  let join = '';
  let added = 'false';
  if (t.endpointNodes) {
    const e = t.endpointNodes;
    const edges = resolve(e.edgesTable);
    join = ` LEFT JOIN (SELECT ${quoteIdent(e.src)} AS id FROM ${edges} WHERE workspace = ${ws} UNION SELECT ${quoteIdent(e.tgt)} FROM ${edges} WHERE workspace = ${ws}) ep ON ep.id = r.id`;
    added = `(ep.id IS NOT NULL AND r.properties = jsonb_build_object('entity_id', r.id))`;
  }
  // production tables may hold other workspaces' rows
  return `SELECT ${coll} AS coll, ${t.idSql} AS id, ${digestSql(t)} AS h, ${badDim} AS bad_dim, ${added} AS added${extra.map((x) => `, ${x}`).join('')} FROM ${t.table} r${join} WHERE r.workspace = ${ws}`;
}

/** md5(id) prefixes: sample selection (first 4 bytes, unsigned) and buckets (first byte). */
export const SAMPLE_KEY_SQL = `('x' || substr(md5(id), 1, 8))::bit(32)::bigint`;
export const BUCKET_SQL = `get_byte(decode(md5(id), 'hex'), 0)`;
export const DIGEST64_SQL = `('x' || substr(h, 1, 16))::bit(64)::bigint`;

export function coverageText(t: VerifyTable): string {
  const covered = t.columns.filter((c) => c.covered).map((c) => c.name);
  const load = t.columns.filter((c) => c.excluded === 'load-time').map((c) => c.name);
  const fin = t.columns.filter((c) => c.excluded === 'finish-step').map((c) => c.name);
  let s = `md5 over ${covered.join(', ')}`;
  if (t.spec.vector) s += ` (${t.spec.vector.column} as vector_send bytes${t.halfvec ? ' of the float16 values' : ''})`;
  if (load.length)
    s += `; not covered: ${load.join(', ')} (the load time when the record has none; the sample compares record times)`;
  if (fin.length)
    s += `; not covered: ${fin.join(', ')} (finishStaging fills them from other tables; the sample compares the record's own values)`;
  if (t.endpointNodes) s += `; rows finishStaging added for edge endpoints without a node are counted as added`;
  return s;
}
