import { qualify, quoteIdent, quoteLiteral } from './identifiers';
import type { TableSpec } from './layouts/types';

export interface CreateTableOptions {
  /** staging: the workspace column gets this DEFAULT (the loader never sends it) */
  workspaceDefault?: string;
  /** production DDL: primary key constraint inline */
  withPrimaryKey: boolean;
  ifNotExists?: boolean;
  /** staging: vector columns as VECTOR(d) whatever the production storage (COPY sends vector) */
  vectorAsFloat32?: boolean;
}

export function columnDdl(
  spec: TableSpec,
  name: string,
  opts: Pick<CreateTableOptions, 'workspaceDefault' | 'vectorAsFloat32'> = {},
): string {
  const c = spec.columns.find((x) => x.name === name)!;
  let type = c.sqlType;
  if (opts.vectorAsFloat32 && spec.vector && c.name === spec.vector.column) type = `VECTOR(${spec.vector.dimension})`;
  let extra = c.extra ?? '';
  if (c.name === 'workspace' && opts.workspaceDefault !== undefined)
    extra = `NOT NULL DEFAULT ${quoteLiteral(opts.workspaceDefault)}`;
  return `${quoteIdent(c.name)} ${type}${extra ? ` ${extra}` : ''}`;
}

export function createTableSql(schema: string, table: string, spec: TableSpec, opts: CreateTableOptions): string {
  const cols = spec.columns.map((c) => columnDdl(spec, c.name, opts));
  if (opts.withPrimaryKey) cols.push(primaryKeyClause(spec));
  return `CREATE TABLE ${opts.ifNotExists ? 'IF NOT EXISTS ' : ''}${qualify(schema, table)} (\n  ${cols.join(',\n  ')}\n)`;
}

export function primaryKeyClause(spec: TableSpec): string {
  return `CONSTRAINT ${quoteIdent(spec.primaryKeyName)} PRIMARY KEY (${spec.primaryKey.map(quoteIdent).join(', ')})`;
}

export function createIndexSql(
  schema: string,
  table: string,
  index: { name: string; using: string },
  ifNotExists = true,
): string {
  return `CREATE INDEX ${ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteIdent(index.name)} ON ${qualify(schema, table)} ${index.using}`;
}

export function foreignKeySqls(schema: string, table: string, spec: TableSpec): string[] {
  return (spec.foreignKeys ?? []).map(
    (fk) =>
      `ALTER TABLE ${qualify(schema, table)} ADD CONSTRAINT ${quoteIdent(fk.name)} FOREIGN KEY (${fk.columns.map(quoteIdent).join(', ')}) ` +
      `REFERENCES ${qualify(schema, fk.refTable)} (${fk.refColumns.map(quoteIdent).join(', ')})${fk.onDelete ? ` ON DELETE ${fk.onDelete}` : ''}`,
  );
}
