import type { WorkflowHandle } from '@temporalio/client';
import type { CredentialStore } from '../core/credentials';
import { TASK_QUEUE } from '../core/config';
import {
  embeddedTaskQueue,
  startEmbeddedWorker,
  workerIsPolling,
  type EmbeddedWorker,
  type TemporalSession,
} from './temporal';

export type WorkerMode = 'auto' | 'embedded' | 'external';

export interface WorkerHost {
  /** true when this process runs the worker */
  embedded: boolean;
  /** the queue to start the workflow on (and the one the embedded worker polls) */
  taskQueue: string;
  /** starts an embedded worker if none runs yet (no-op when one does) */
  ensureEmbedded(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Decides who runs the workflows: an external worker when one polls the task queue, otherwise a
 * worker embedded in this process.
 */
export async function hostWorker(
  session: TemporalSession,
  credentials: CredentialStore,
  mode: WorkerMode = 'auto',
  workflow: { workflowId?: string; running?: { taskQueue: string } } = {},
): Promise<WorkerHost> {
  const runningQueue = workflow.running?.taskQueue;
  let embedded: EmbeddedWorker | undefined;
  const host: WorkerHost = {
    embedded: false,
    taskQueue: runningQueue ?? TASK_QUEUE,
    async ensureEmbedded() {
      if (embedded) return;
      embedded = await startEmbeddedWorker(session.settings, credentials, host.taskQueue);
      host.embedded = true;
    },
    async stop() {
      await embedded?.stop();
    },
  };
  if (runningQueue) {
    // Attaching: carry on where the workflow runs; a private queue has no worker but ours.
    if (mode === 'embedded' || (mode === 'auto' && (runningQueue !== TASK_QUEUE || !(await workerIsPolling(session)))))
      await host.ensureEmbedded();
    return host;
  }
  if (mode === 'embedded' || (mode === 'auto' && !(await workerIsPolling(session)))) {
    // An embedded worker serves this workflow only: another CLI's job never lands on it.
    if (workflow.workflowId) host.taskQueue = embeddedTaskQueue(workflow.workflowId);
    await host.ensureEmbedded();
  }
  return host;
}

const PICKUP_GRACE_MS = 15_000;

/**
 * Waits for a workflow's result. A worker that polled a moment ago may since have died; when no
 * worker has picked up the workflow's first task within the grace period, this process starts one.
 */
export async function awaitResult<T>(handle: WorkflowHandle, host: WorkerHost, mode: WorkerMode = 'auto'): Promise<T> {
  const result = handle.result() as Promise<T>;
  if (host.embedded || mode === 'external') return result;
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'grace'>((resolve) => {
    timer = setTimeout(() => resolve('grace'), PICKUP_GRACE_MS);
  });
  const first = await Promise.race([
    result.then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    grace,
  ]);
  clearTimeout(timer);
  if (first === 'grace') {
    const description = await handle.describe();
    if (description.historyLength <= 2) await host.ensureEmbedded();
  }
  return result;
}
