import { createHash } from 'node:crypto';

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated by the server. */
export const PG_MAX_IDENTIFIER_BYTES = 63;

export class IdentifierError extends Error {
  override name = 'IdentifierError';
}

/**
 * Quotes an identifier for SQL ("…" with embedded quotes doubled) after validating it: non-empty,
 * no NUL byte, at most 63 UTF-8 bytes (we never let the server truncate a name silently).
 */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || name.length === 0)
    throw new IdentifierError('An SQL identifier is empty; give the table or schema a name.');
  if (name.includes('\0'))
    throw new IdentifierError(
      `The SQL identifier ${JSON.stringify(name)} contains a NUL byte, which PostgreSQL does not allow.`,
    );
  if (Buffer.byteLength(name, 'utf8') > PG_MAX_IDENTIFIER_BYTES) {
    throw new IdentifierError(
      `The SQL identifier "${name}" is longer than ${PG_MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would truncate it — choose a shorter name.`,
    );
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/** schema.table, both quoted. */
export function qualify(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** A string literal for the few places where a parameter cannot be used (DDL defaults). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0'))
    throw new IdentifierError('A string literal contains a NUL byte, which PostgreSQL does not allow.');
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * LightRAG's workspace rule (lightrag.utils.validate_workspace) plus the column length: a single
 * path component (no / or \, not . or ..), at most 255 characters (VARCHAR(255)), no NUL.
 * Quotes, spaces and any unicode are fine: workspaces are always passed as parameters.
 */
export function validateWorkspace(workspace: string): string {
  if (typeof workspace !== 'string' || workspace.length === 0)
    throw new IdentifierError('The workspace name is empty; use "default" for a root working directory.');
  if (workspace.includes('/') || workspace.includes('\\') || workspace === '.' || workspace === '..') {
    throw new IdentifierError(
      `The workspace name "${workspace}" is not a single path component (no "/", "\\", "." or ".."), so LightRAG would refuse it; rename the workspace.`,
    );
  }
  if (workspace.includes('\0'))
    throw new IdentifierError('The workspace name contains a NUL byte; rename the workspace.');
  if ([...workspace].length > 255)
    throw new IdentifierError(
      `The workspace name is longer than 255 characters (LightRAG's VARCHAR(255)); rename the workspace.`,
    );
  return workspace;
}

/** LightRAG's _safe_index_name: idx_<lower table>_<suffix>, or idx_<md5(lower table)[:12]>_<suffix> past 63 bytes. */
export function lightragIndexName(table: string, suffix: string): string {
  const lower = table.toLowerCase();
  const full = `idx_${lower}_${suffix}`;
  if (Buffer.byteLength(full, 'utf8') <= PG_MAX_IDENTIFIER_BYTES) return full;
  const hash = createHash('md5').update(lower, 'utf8').digest('hex').slice(0, 12);
  return `idx_${hash}_${suffix}`;
}

/**
 * LightRAG's BaseVectorStorage._generate_collection_suffix: lower-case the model name, replace every
 * character outside [a-zA-Z0-9_] with "_" and append `_<dim>d`; undefined for no/blank model.
 */
export function modelSuffix(model: string | undefined, dim: number): string | undefined {
  if (typeof model !== 'string' || model.trim() === '') return undefined;
  // Python's str.lower() then re.sub(r"[^a-zA-Z0-9_]", "_", …) works per code point.
  const cleaned = Array.from(model.toLowerCase(), (ch) => (/^[a-zA-Z0-9_]$/.test(ch) ? ch : '_')).join('');
  return `${cleaned}_${dim}d`;
}

/** A short, stable, lower-case hex tag for a migration id (names its staging and generation schemas). */
export function scopeTag(migrationId: string): string {
  return createHash('sha256').update(migrationId, 'utf8').digest('hex').slice(0, 12);
}

/** Compare two strings by Unicode code points, as Python's str ordering does (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}
