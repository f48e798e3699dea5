import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { bundleWorkflowCode } from '@temporalio/worker';

const root = path.resolve(__dirname, '..');

function services(verb: 'up' | 'env'): string {
  const result = spawnSync('bash', [path.join(root, 'scripts/services.sh'), verb], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  if (result.status !== 0) throw new Error(`npm run services -- ${verb} failed (exit ${result.status})`);
  return result.stdout;
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    temporalUiUrl: string;
    workflowBundlePath: string;
    pgBin: string;
    pgOsUser: string;
  }
}

/** Brings the services up once for the whole run and bundles the workflow code once. */
export default async function setup(project: TestProject): Promise<void> {
  process.stderr.write(services('up'));
  const env = Object.fromEntries(
    services('env')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  ) as Record<string, string>;
  for (const [key, value] of Object.entries(env)) process.env[key] = value;

  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(root, 'workflows/index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const bundleDir = path.join(root, '.services/test');
  mkdirSync(bundleDir, { recursive: true });
  const workflowBundlePath = path.join(bundleDir, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, code);

  project.provide('databaseUrl', env.DATABASE_URL ?? '');
  project.provide('temporalAddress', env.TEMPORAL_ADDRESS ?? '');
  project.provide('temporalUiUrl', env.TEMPORAL_UI_URL ?? '');
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('pgBin', env.HYBRIDRAG_PG_BIN ?? '');
  project.provide('pgOsUser', env.HYBRIDRAG_PG_OS_USER ?? 'postgres');
}
