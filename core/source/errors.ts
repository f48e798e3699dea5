/**
 * Typed errors of the source side. Every message is one sentence that names the file and says
 * what to do. Activities map `SourceError` (and subclasses) to non-retryable failures: retrying
 * cannot fix a corrupt or changed file.
 */

export type SourceErrorCode =
  | 'NOT_LIGHTRAG_DIR'
  | 'EMPTY_FILE'
  | 'TRUNCATED_JSON'
  | 'INVALID_JSON'
  | 'INVALID_UTF8'
  | 'INVALID_RECORD'
  | 'DUPLICATE_KEY'
  | 'MATRIX_LENGTH'
  | 'EMPTY_MATRIX'
  | 'INVALID_BASE64'
  | 'INVALID_VECTOR'
  | 'DIMENSION_CONFLICT'
  | 'INVALID_XML'
  | 'UNKNOWN_GRAPHML_KEY'
  | 'UNSUPPORTED_STRUCTURE'
  | 'FILE_CHANGED'
  | 'INVALID_PLAN'
  | 'IO_ERROR';

export interface SourceErrorDetails {
  file?: string;
  recordIndex?: number;
  byteOffset?: number;
}

/** Base of all source-side errors. */
export class SourceError extends Error {
  override name = 'SourceError';
  /** Source errors are never fixed by retrying the same read. */
  readonly retryable: boolean = false;
  readonly file?: string;
  readonly recordIndex?: number;
  readonly byteOffset?: number;
  constructor(
    readonly code: SourceErrorCode,
    message: string,
    details: SourceErrorDetails = {},
  ) {
    super(message);
    if (details.file !== undefined) this.file = details.file;
    if (details.recordIndex !== undefined) this.recordIndex = details.recordIndex;
    if (details.byteOffset !== undefined) this.byteOffset = details.byteOffset;
  }

  /** Plain, JSON-serialisable form (e.g. for an ApplicationFailure's details). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      file: this.file,
      recordIndex: this.recordIndex,
      byteOffset: this.byteOffset,
    };
  }
}

/** The folder is not a LightRAG working directory. */
export class NotLightRagDirectoryError extends SourceError {
  override name = 'NotLightRagDirectoryError';
  constructor(message: string, dir: string) {
    super('NOT_LIGHTRAG_DIR', message, { file: dir });
  }
}

/** A data file is malformed: bad JSON, bad UTF-8, bad base64, bad vector, duplicate key, bad GraphML. */
export class SourceFormatError extends SourceError {
  override name = 'SourceFormatError';
  constructor(code: SourceErrorCode, message: string, details: SourceErrorDetails & { file: string }) {
    super(code, message, details);
  }
}

/** The embedding dimension sources of a vector file (key, matrix, per-record vectors, env) disagree. */
export class DimensionConflictError extends SourceFormatError {
  override name = 'DimensionConflictError';
  constructor(message: string, details: SourceErrorDetails & { file: string }) {
    super('DIMENSION_CONFLICT', message, details);
  }
}

/** The file changed between planning and a batch read. */
export class FileChangedError extends SourceError {
  override name = 'FileChangedError';
  constructor(message: string, file: string) {
    super('FILE_CHANGED', message, { file });
  }
}

/** A plan read back (e.g. from a Temporal payload) does not have the expected shape. */
export class InvalidPlanError extends SourceError {
  override name = 'InvalidPlanError';
  constructor(message: string) {
    super('INVALID_PLAN', message);
  }
}

/** "at byte 123" / "record 7 at byte 123" — the location part of a message. */
export function where(details: { recordIndex?: number | undefined; byteOffset?: number | undefined }): string {
  const parts: string[] = [];
  if (details.recordIndex !== undefined) parts.push(`record ${details.recordIndex}`);
  if (details.byteOffset !== undefined) parts.push(`byte ${details.byteOffset}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
