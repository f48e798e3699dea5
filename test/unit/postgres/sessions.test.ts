import { describe, expect, it } from 'vitest';
import { describeDatabaseError, isConcurrentAttemptError } from '../../../core/database/errors';
import { classifyPgError } from '../../../core/postgres/errors';
import { scopeTag } from '../../../core/postgres/identifiers';
import { jobSessionPrefixes, sessionName } from '../../../core/postgres/sessions';

describe('session names (application_name)', () => {
  it('names the job and the step, and fits PostgreSQL’s 63 bytes', () => {
    expect(sessionName('job-20261130-200524-ab12', 'indexes')).toBe('hybridrag/job-20261130-200524-ab12/indexes');
    const long = sessionName('job-20261130-200524-ab12', 'load/llm_response_cache/123456');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long).toBe(`hybridrag/${scopeTag('job-20261130-200524-ab12')}/load/llm_response_cache/123456`);
    const huge = sessionName('j'.repeat(200), 's'.repeat(100));
    expect(Buffer.byteLength(huge)).toBeLessThanOrEqual(63);
  });

  it('gives different steps and jobs different names, each under one of the job’s prefixes', () => {
    const job = 'job-20261130-200524-ab12';
    const names = ['prepare', 'load/vdb_chunks/0', 'load/vdb_chunks/1', 'indexes', 'verify', 'promote'].map((s) =>
      sessionName(job, s),
    );
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(jobSessionPrefixes(job).some((p) => n.startsWith(p))).toBe(true);
    expect(sessionName('job-a', 'indexes')).not.toBe(sessionName('job-b', 'indexes'));
    const other = sessionName('job-20261130-200524-ab13', 'load/llm_response_cache/123456');
    expect(jobSessionPrefixes(job).some((p) => other.startsWith(p))).toBe(false);
  });
});

describe('errors that mean another attempt of the step is still running', () => {
  const target = { host: 'h', port: 5432, database: 'd', user: 'u', params: {} };
  const raceOnCatalog = Object.assign(
    new Error('duplicate key value violates unique constraint "pg_class_relname_nsp_index"'),
    { code: '23505', constraint: 'pg_class_relname_nsp_index' },
  );
  const duplicateRow = Object.assign(new Error('duplicate key value violates unique constraint "t_pkey"'), {
    code: '23505',
    constraint: 't_pkey',
  });

  it('are retried: a catalog race, an object created meanwhile, a lock held elsewhere', () => {
    for (const code of ['42P07', '42710', '55P03']) expect(isConcurrentAttemptError({ code })).toBe(true);
    expect(isConcurrentAttemptError(raceOnCatalog)).toBe(true);
    const classified = classifyPgError(raceOnCatalog, 'Building indexes in "s"');
    expect(classified.kind).toBe('transient');
    expect(classified.message).toContain('another attempt of this step is still running in PostgreSQL');
    expect(describeDatabaseError(raceOnCatalog, target).kind).toBe('transient');
  });

  it('but a duplicate key in the data stays a permanent failure', () => {
    expect(isConcurrentAttemptError(duplicateRow)).toBe(false);
    expect(classifyPgError(duplicateRow, 'x').kind).toBe('permanent');
    expect(describeDatabaseError(duplicateRow, target).kind).toBe('permanent');
  });
});
