#!/usr/bin/env node
import { NativeConnection } from '@temporalio/worker';
import { temporalSettings, TASK_QUEUE } from '../core/config';
import { CredentialStore } from '../core/credentials';
import { createWorker, defaultActivitySlots } from './createWorker';

/**
 * `npm run worker`: a standalone worker; stops gracefully on SIGINT / SIGTERM.
 * HYBRIDRAG_ACTIVITY_SLOTS sets concurrent activities; HYBRIDRAG_TASK_QUEUE another task queue
 * (tests run their workers on a queue of their own).
 */
async function main(): Promise<void> {
  const settings = temporalSettings();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: settings.address });
  } catch (error) {
    throw new Error(
      `Cannot reach Temporal at ${settings.address} (${(error as Error).message}); start it with npm run services -- up or set TEMPORAL_ADDRESS.`,
      { cause: error },
    );
  }
  const slots = Number(process.env.HYBRIDRAG_ACTIVITY_SLOTS) || defaultActivitySlots();
  const taskQueue = process.env.HYBRIDRAG_TASK_QUEUE || TASK_QUEUE;
  const { worker, close } = await createWorker({
    connection,
    namespace: settings.namespace,
    credentials: new CredentialStore(),
    activitySlots: slots,
    taskQueue,
  });
  console.log(
    `worker polling ${taskQueue} on ${settings.address} (namespace ${settings.namespace}, ${slots} activity slots)`,
  );
  try {
    await worker.run();
  } finally {
    await close();
    await connection.close();
  }
  console.log('worker stopped');
}

main().catch((error: unknown) => {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
