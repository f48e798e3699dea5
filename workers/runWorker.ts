import { NativeConnection } from '@temporalio/worker';
import { temporalSettings, TASK_QUEUE } from '../core/config';
import { CredentialStore } from '../core/credentials';
import { createWorker, defaultActivitySlots, type WorkerOptions } from './createWorker';

/**
 * A worker process's life (workers/main.ts; the fault tests' worker, test/helpers/faultWorker.ts,
 * adds its hooks through `wrapActivities`): connects to Temporal, polls until SIGINT / SIGTERM,
 * then stops gracefully. HYBRIDRAG_ACTIVITY_SLOTS sets concurrent activities,
 * HYBRIDRAG_TASK_QUEUE another task queue.
 */
export async function runWorkerProcess(options: Pick<WorkerOptions, 'wrapActivities'> = {}): Promise<void> {
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
    ...options,
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
