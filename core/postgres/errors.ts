import { CONCURRENT_ATTEMPT_NOTE, isConcurrentAttemptError } from '../database/errors';

/** Errors of core/postgres: one sentence, what is wrong and what to do; never a password. */
export type TargetErrorKind = 'transient' | 'permanent';

export class TargetError extends Error {
  override name = 'TargetError';
  constructor(
    message: string,
    readonly kind: TargetErrorKind = 'permanent',
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A record that could not be loaded (reported per record, never a crash half-way). */
export interface RecordError {
  collection: string;
  id: string;
  batchIndex?: number;
  reason: string;
}

const TRANSIENT = /^(08|57P0[123]|53300|40001|40P01)/;
const TRANSIENT_NODE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Strips anything that looks like a password from a message (URLs with user:pass@, password=…). */
export function redact(message: string): string {
  return message
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:***@')
    .replace(/(password\s*=\s*)\S+/gi, '$1***');
}

/** Wraps a node-postgres error into a TargetError with a clear sentence (keeps transient ones retryable). */
export function classifyPgError(error: unknown, context: string): TargetError {
  if (error instanceof TargetError) return error;
  const err = error as { code?: string; message?: string };
  const code = err?.code;
  const message = redact(String(err?.message ?? error));
  if (code === '42501')
    return new TargetError(
      `${context}: permission denied (${message}); grant the privilege to the migration role or use a role that has it.`,
      'permanent',
      code,
    );
  if (code && (TRANSIENT.test(code) || TRANSIENT_NODE.has(code)))
    return new TargetError(
      `${context}: PostgreSQL is not available right now (${message}); it will be retried.`,
      'transient',
      code,
    );
  if (isConcurrentAttemptError(error))
    return new TargetError(`${context}: ${message} (${CONCURRENT_ATTEMPT_NOTE}).`, 'transient', code);
  if (/Connection terminated|timeout expired/i.test(message))
    return new TargetError(`${context}: the connection was lost (${message}); it will be retried.`, 'transient', code);
  return new TargetError(`${context}: ${message}`, 'permanent', code);
}
