#!/usr/bin/env node
import { runWorkerProcess } from '../../workers/runWorker';
import { withTestHooks } from './testHooks';

/**
 * The fault tests' worker process: `npm run worker`'s worker with the fault-injection hooks of
 * ./testHooks.ts read from its environment. Test-only; npm run build compiles it to
 * dist/test/helpers/faultWorker.js (tsconfig.build.json), and test/helpers/workerProcess.ts starts
 * it when a test sets a HYBRIDRAG_TEST_* hook.
 */
runWorkerProcess({ wrapActivities: (activities) => withTestHooks(activities, process.env) }).catch((error: unknown) => {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
