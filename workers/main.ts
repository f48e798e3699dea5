#!/usr/bin/env node
import { runWorkerProcess } from './runWorker';

/**
 * `npm run worker`: a standalone worker; stops gracefully on SIGINT / SIGTERM.
 * HYBRIDRAG_ACTIVITY_SLOTS sets concurrent activities; HYBRIDRAG_TASK_QUEUE another task queue
 * (tests run their workers on a queue of their own).
 */
runWorkerProcess().catch((error: unknown) => {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
