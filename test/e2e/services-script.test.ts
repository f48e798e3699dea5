import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it, inject } from 'vitest';

const root = path.resolve(__dirname, '../..');
const services = (verb: string) =>
  spawnSync('bash', [path.join(root, 'scripts/services.sh'), verb], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', TEMPORAL_ADDRESS: '' },
  });

// The global setup already ran `up`; these check what a person sees afterwards.
describe('npm run services', () => {
  it('status reports both services with address, version and data folder, and no password', () => {
    const run = services('status');
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^postgres {2}postgres:\/\/hybridrag:\*\*\*@127\.0\.0\.1:\d+\/hybridrag {2}PostgreSQL 1[5-9]\.\d+(?: .*)? pgvector 0\.[89]\.\d+ {2}data: \/.+\/data-(wheel|debian)$/,
    );
    expect(lines[1]).toMatch(
      /^temporal {2}127\.0\.0\.1:\d+ {2}CLI 1\.5\.1 \(Server [\d.]+, UI [\d.]+\) {2}UI http:\/\/127\.0\.0\.1:\d+ {2}data: \/.+temporal\.db$/,
    );
    expect(run.stdout).not.toContain(new URL(inject('databaseUrl')).password);
  });

  it('up is idempotent: a second run starts nothing new and reports the same services', () => {
    const run = services('up');
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/installing|creating|building/);
    expect(run.stdout).toMatch(/^postgres .*\ntemporal /);
  });

  it('env prints KEY=value lines a shell can eval', () => {
    const run = services('env');
    expect(run.status).toBe(0);
    const env = Object.fromEntries(
      run.stdout
        .trim()
        .split('\n')
        .map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]),
    );
    expect(env.DATABASE_URL).toBe(inject('databaseUrl'));
    expect(env.TEMPORAL_ADDRESS).toBe(inject('temporalAddress'));
    expect(env.TEMPORAL_UI_URL).toBe(inject('temporalUiUrl'));
  });

  it('rejects an unknown verb with a usage line', () => {
    const run = services('launch');
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('services: usage: npm run services -- up|down|status|env\n');
  });
});
