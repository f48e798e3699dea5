/**
 * Embedding-dimension detection for a nano-vectordb file, in the order DESIGN.md §3 gives:
 * `LIGHTRAG_EMBEDDING_DIM` (override) → the `embedding_dim` key → the matrix (its decoded length
 * must equal len(data) × D × 4; D is never guessed by divisibility alone) → per-record vectors →
 * default 1536. Every source that is present must agree with the chosen D, else a clear error.
 */
import { DimensionConflictError, SourceFormatError } from './errors';
import type { DimSource } from './plan';

export const DEFAULT_DIM = 1536;

export interface DimensionEvidence {
  file: string;
  /** the raw `embedding_dim` value, undefined when the key is absent */
  embeddingDimKey: unknown;
  recordCount: number;
  /** decoded byte length of `matrix` (0 for "" or absent) */
  matrixBytes: number;
  /** dimension of the first record's per-record `vector`, if it has one */
  recordVectorDim?: number | undefined;
  /** the value of LIGHTRAG_EMBEDDING_DIM, if set */
  env?: string | undefined;
}

export interface DimensionResult {
  dim: number;
  dimSource: DimSource;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

export function detectDimension(ev: DimensionEvidence): DimensionResult {
  const { file, recordCount: n, matrixBytes } = ev;
  let chosen: DimensionResult | undefined;

  if (ev.env !== undefined && ev.env.trim() !== '') {
    const d = Number(ev.env.trim());
    if (!isPositiveInt(d)) {
      throw new DimensionConflictError(
        `LIGHTRAG_EMBEDDING_DIM="${ev.env}" is not a positive whole number; set it to your embedding model's dimension or unset it (reading ${file}).`,
        { file },
      );
    }
    chosen = { dim: d, dimSource: 'env' };
  }
  if (ev.embeddingDimKey !== undefined && ev.embeddingDimKey !== null) {
    if (!isPositiveInt(ev.embeddingDimKey)) {
      throw new DimensionConflictError(
        `${file}: "embedding_dim" is ${JSON.stringify(ev.embeddingDimKey)}, not a positive whole number; the file is damaged — restore it from a backup.`,
        { file },
      );
    }
    chosen ??= { dim: ev.embeddingDimKey, dimSource: 'embedding_dim' };
  }

  const matrixDim = n > 0 && matrixBytes > 0 && matrixBytes % (4 * n) === 0 ? matrixBytes / (4 * n) : undefined;
  if (matrixBytes > 0) {
    if (n === 0) {
      throw new SourceFormatError(
        'MATRIX_LENGTH',
        `${file}: "matrix" holds ${matrixBytes} bytes of vectors but "data" has no records; the file is damaged — restore it from a backup.`,
        { file },
      );
    }
    if (matrixDim === undefined) {
      throw new SourceFormatError(
        'MATRIX_LENGTH',
        `${file}: "matrix" decodes to ${matrixBytes} bytes, which is not ${n} records × a dimension × 4 bytes; the file is damaged or truncated — restore it from a backup.`,
        { file },
      );
    }
    chosen ??= { dim: matrixDim, dimSource: 'matrix' };
  }
  if (ev.recordVectorDim !== undefined) chosen ??= { dim: ev.recordVectorDim, dimSource: 'vector' };
  chosen ??= { dim: DEFAULT_DIM, dimSource: 'default' };

  const D = chosen.dim;
  const named =
    chosen.dimSource === 'env'
      ? `LIGHTRAG_EMBEDDING_DIM=${D}`
      : chosen.dimSource === 'embedding_dim'
        ? `"embedding_dim": ${D}`
        : `dimension ${D}`;
  // Note: an env override that disagrees only with the `embedding_dim` key wins (that is what an
  // override is for); it must still agree with the matrix and the per-record vectors.
  if (matrixBytes > 0 && matrixBytes !== n * D * 4) {
    throw new DimensionConflictError(
      `${file}: ${named} does not match "matrix", which holds ${matrixBytes} bytes for ${n} records (${n} × ${D} × 4 = ${n * D * 4}${matrixDim ? `; the matrix implies ${matrixDim}` : ''}); fix or unset the dimension setting, or restore the file from a backup.`,
      { file },
    );
  }
  if (ev.recordVectorDim !== undefined && ev.recordVectorDim !== D) {
    throw new DimensionConflictError(
      `${file}: the per-record "vector" fields have ${ev.recordVectorDim} dimensions but ${named}${matrixBytes > 0 ? ' and the matrix' : ''} say ${D}; the file mixes embedding models — re-index it with one model or restore it from a backup.`,
      { file, recordIndex: 0 },
    );
  }
  return chosen;
}
