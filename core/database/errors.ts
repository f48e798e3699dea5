import { describeTarget, type DatabaseTarget } from '../connection';

/** Whether retrying later may succeed (server restarting, network blip) or not (bad password). */
export type ErrorKind = 'transient' | 'permanent';

export class DatabaseError extends Error {
  override name = 'DatabaseError';
  constructor(
    message: string,
    readonly kind: ErrorKind,
    readonly code?: string,
  ) {
    super(message);
  }
}

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// Class 08 connection exceptions, 57P01-03 shutdown/cannot-connect-now, 53300 too many connections,
// 40001/40P01 serialization failure / deadlock.
const TRANSIENT_SQLSTATES = /^(08|57P0[123]|53300|40001|40P01)/;

/**
 * Errors that mean another session is doing the same thing right now — in this tool, an earlier
 * attempt of the same step that PostgreSQL is still running: two CREATE INDEX (or CREATE TABLE) of
 * one name racing in the catalog, an object created by the other one meanwhile, a lock it holds.
 * The step's next attempt stops that session first, so these are retried, never reported.
 */
export function isConcurrentAttemptError(error: unknown): boolean {
  const err = error as { code?: unknown; constraint?: unknown };
  if (err?.code === '23505') return typeof err.constraint === 'string' && err.constraint.startsWith('pg_');
  return err?.code === '42P07' || err?.code === '42710' || err?.code === '55P03';
}

export const CONCURRENT_ATTEMPT_NOTE =
  'another attempt of this step is still running in PostgreSQL; it is stopped and the step retried';

/**
 * Turns a node-postgres or network error into one sentence that says what is wrong and what to
 * do, and whether it is worth retrying. The message never includes a password.
 */
export function describeDatabaseError(error: unknown, target: DatabaseTarget): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const where = describeTarget(target);
  const err = error as { code?: string; message?: string };
  const code = err?.code;
  const message = String(err?.message ?? error);
  if (code === 'ECONNREFUSED') {
    return new DatabaseError(
      `PostgreSQL refuses connections at ${target.host}:${target.port}; start it (npm run services -- up) or fix the host and port in the connection string.`,
      'transient',
      code,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new DatabaseError(
      `The PostgreSQL host "${target.host}" cannot be resolved; check the host name in the connection string.`,
      code === 'EAI_AGAIN' ? 'transient' : 'permanent',
      code,
    );
  }
  if (code === '28P01' || code === '28000') {
    return new DatabaseError(
      `PostgreSQL rejected the login of user "${target.user}" at ${target.host}:${target.port}; check the user and password (or set HYBRIDRAG_PG_PASSWORD for the worker).`,
      'permanent',
      code,
    );
  }
  if (/password must be a string|no password supplied/i.test(message)) {
    return new DatabaseError(
      `PostgreSQL at ${target.host}:${target.port} asks for a password for user "${target.user}" and none was given; put it in the connection string, in HYBRIDRAG_PG_PASSWORD or in ~/.pgpass.`,
      'permanent',
      '28P01',
    );
  }
  if (code === '3D000') {
    return new DatabaseError(
      `The database "${target.database}" does not exist on ${target.host}:${target.port}; create it (createdb) or name an existing one.`,
      'permanent',
      code,
    );
  }
  if (code === '42501') {
    return new DatabaseError(
      `The role "${target.user}" lacks a privilege on ${where}: ${message}; grant it or use a role that has it.`,
      'permanent',
      code,
    );
  }
  if (isConcurrentAttemptError(error)) {
    return new DatabaseError(`${message} (${CONCURRENT_ATTEMPT_NOTE})`, 'transient', code);
  }
  if (/timeout expired|Connection terminated/i.test(message)) {
    return new DatabaseError(
      `The connection to PostgreSQL at ${target.host}:${target.port} was lost or timed out (${message}); it will be retried.`,
      'transient',
      code,
    );
  }
  if (code && (TRANSIENT_NODE_CODES.has(code) || TRANSIENT_SQLSTATES.test(code))) {
    return new DatabaseError(
      `PostgreSQL at ${target.host}:${target.port} is not available right now (${message}); it will be retried.`,
      'transient',
      code,
    );
  }
  return new DatabaseError(`PostgreSQL at ${where} reported: ${message}`, 'permanent', code);
}
