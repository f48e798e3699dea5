import { describe, expect, it, inject } from 'vitest';
import { hybridrag } from '../helpers/cli';

// The real binary (built by `npm run build`) against the real services.
describe('hybridrag doctor', () => {
  it('prints the versions of Temporal, PostgreSQL and pgvector, running an embedded worker', async () => {
    const url = inject('databaseUrl');
    const run = await hybridrag(['doctor', '--connection-string', url, '--worker', 'embedded']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Temporal {4}127\.0\.0\.1:\d+ {2}server \d+\.\d+\.\d+/m);
    expect(run.stdout).toMatch(/^PostgreSQL {2}postgres:\/\/hybridrag@127\.0\.0\.1:\d+\/hybridrag {2}\d+\.\d+/m);
    expect(run.stdout).toMatch(/^pgvector {4}0\.[89]\.\d+/m);
    expect(run.stdout).toMatch(/^Worker {6}embedded in this process/m);
    expect(run.stdout).toContain(`Watch it    ${inject('temporalUiUrl')}/namespaces/default/workflows/doctor%2F`);
    expect(run.stdout).not.toContain(new URL(url).password);
  });

  it('prints one JSON object with --json, taking DATABASE_URL from the environment', async () => {
    const run = await hybridrag(['doctor', '--json'], { DATABASE_URL: inject('databaseUrl') });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      postgres: { version: string };
      pgvector: { version: string };
      temporal: { serverVersion: string };
    };
    expect(report.pgvector.version).toMatch(/^0\.[89]/);
    expect(report.temporal.serverVersion).toMatch(/^\d+\.\d+/);
  });

  it('says clearly when Temporal is unreachable, with a non-zero exit', async () => {
    const run = await hybridrag([
      'doctor',
      '--connection-string',
      inject('databaseUrl'),
      '--temporal-address',
      '127.0.0.1:1',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^error: Cannot reach Temporal at 127\.0\.0\.1:1 .*npm run services -- up/);
  });

  it('says clearly when PostgreSQL is unreachable, without a stack trace', async () => {
    const run = await hybridrag([
      'doctor',
      '--connection-string',
      'postgres://u:pw@127.0.0.1:1/db',
      '--worker',
      'embedded',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'error: PostgreSQL refuses connections at 127.0.0.1:1; start it (npm run services -- up) or fix the host and port in the connection string.\n',
    );
  });

  it('refuses a malformed connection string as a usage error', async () => {
    const run = await hybridrag(['doctor', '--connection-string', 'mysql://x@y/z']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/must start with postgres:\/\//);
  });

  it('asks for a connection string when there is none', async () => {
    const run = await hybridrag(['doctor']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: --connection-string: No PostgreSQL to check/);
  });
});
