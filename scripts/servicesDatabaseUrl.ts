import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** DATABASE_URL, or the local services' one (scripts/services.sh env), for the benchmarks. */
export function servicesDatabaseUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  // dist/scripts/ when built, scripts/ when run from source
  const root = [path.resolve(__dirname, '../..'), path.resolve(__dirname, '..')].find((d) =>
    existsSync(path.join(d, 'scripts/services.sh')),
  )!;
  const env = execFileSync('bash', [path.join(root, 'scripts/services.sh'), 'env'], { cwd: root, encoding: 'utf8' });
  const line = env.split('\n').find((l) => l.startsWith('DATABASE_URL='));
  if (!line) throw new Error('No DATABASE_URL: run npm run services -- up, or set DATABASE_URL.');
  return line.slice('DATABASE_URL='.length);
}
