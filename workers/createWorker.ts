import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { TASK_QUEUE } from '../core/config';
import type { CredentialStore } from '../core/credentials';
import { createActivities, type Activities } from '../activities';
import { PoolRegistry } from '../activities/pools';
import { applyHeapGrowth } from './heap';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  credentials: CredentialStore;
  /** prebuilt workflow bundle (npm run build writes dist/workflow-bundle.js) */
  workflowBundlePath?: string;
  /** concurrent activities; COPY-heavy, so about the size of the PostgreSQL pool */
  activitySlots?: number;
  identity?: string;
  /** tests isolate themselves on a queue of their own */
  taskQueue?: string;
  /** tests wrap the activities with their fault hooks (test/helpers/testHooks.ts); production does not */
  wrapActivities?: (activities: Activities) => Activities;
}

/** dist/workflow-bundle.js, found from the compiled worker (dist/workers) or from the sources (workers/). */
export const DEFAULT_WORKFLOW_BUNDLE =
  [
    path.resolve(__dirname, '..', 'workflow-bundle.js'),
    path.resolve(__dirname, '..', 'dist', 'workflow-bundle.js'),
  ].find((p) => existsSync(p)) ?? path.resolve(__dirname, '..', 'workflow-bundle.js');

export function defaultActivitySlots(): number {
  return Math.max(2, Math.min(16, os.availableParallelism()));
}

export interface HybridragWorker {
  worker: Worker;
  /** closes the PostgreSQL pools once the worker has stopped */
  close(): Promise<void>;
}

export async function createWorker(options: WorkerOptions): Promise<HybridragWorker> {
  applyHeapGrowth();
  const slots = options.activitySlots ?? defaultActivitySlots();
  // One connection per activity slot, plus one for the occasional quick activity.
  const pools = new PoolRegistry(options.credentials, slots + 1);
  const wrap = options.wrapActivities ?? ((activities: Activities) => activities);
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowBundle: { codePath: options.workflowBundlePath ?? DEFAULT_WORKFLOW_BUNDLE },
    activities: wrap(createActivities({ credentials: options.credentials, pools })),
    maxConcurrentActivityTaskExecutions: slots,
    shutdownGraceTime: '30 seconds',
    ...(options.identity ? { identity: options.identity } : {}),
  });
  return { worker, close: () => pools.closeAll() };
}
