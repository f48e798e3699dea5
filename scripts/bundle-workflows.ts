import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** Prebuilds the workflow bundle so workers (and the CLI's embedded one) start in milliseconds. */
async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const out = path.resolve(__dirname, '..', 'workflow-bundle.js');
  writeFileSync(out, code);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
