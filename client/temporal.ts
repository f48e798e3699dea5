import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Client, Connection, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { TASK_QUEUE, type TemporalSettings } from '../core/config';
import type { CredentialStore } from '../core/credentials';
import { createWorker } from '../workers/createWorker';
import { UserError } from './errors';

export interface TemporalSession {
  client: Client;
  connection: Connection;
  settings: TemporalSettings;
  serverVersion: string;
  close(): Promise<void>;
}

export async function connectTemporal(settings: TemporalSettings): Promise<TemporalSession> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: '5 seconds' });
    const info = await connection.workflowService.getSystemInfo({});
    const client = new Client({ connection, namespace: settings.namespace });
    return {
      client,
      connection,
      settings,
      serverVersion: info.serverVersion || 'unknown',
      close: () => connection.close(),
    };
  } catch (error) {
    throw new UserError(
      `Cannot reach Temporal at ${settings.address} (${firstLine(error)}); start it with npm run services -- up, or set TEMPORAL_ADDRESS to a running server.`,
    );
  }
}

/** Whether some worker has polled the migration task queue within the last long-poll period. */
export async function workerIsPolling(session: TemporalSession): Promise<boolean> {
  const response = await session.connection.workflowService.describeTaskQueue({
    namespace: session.settings.namespace,
    taskQueue: { name: TASK_QUEUE },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  const recent = Date.now() - 70_000;
  return (response.pollers ?? []).some((poller) => {
    // Another CLI's embedded worker leaves with its CLI: it is no worker to rely on.
    if (poller.identity?.startsWith(EMBEDDED_IDENTITY_PREFIX)) return false;
    const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
    return seconds * 1000 >= recent;
  });
}

const EMBEDDED_IDENTITY_PREFIX = 'hybridrag-cli-embedded:';

export interface EmbeddedWorker {
  stop(): Promise<void>;
}

/** Runs a worker inside the CLI process, for users who have not started `npm run worker`. */
export async function startEmbeddedWorker(
  settings: TemporalSettings,
  credentials: CredentialStore,
  taskQueue: string = TASK_QUEUE,
): Promise<EmbeddedWorker> {
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address: settings.address });
  const { worker, close } = await createWorker({
    connection,
    namespace: settings.namespace,
    credentials,
    taskQueue,
    identity: `${EMBEDDED_IDENTITY_PREFIX}${process.pid}@${hostname()}`,
  });
  const running = worker.run().finally(close);
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

let runtimeInstalled = false;
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // The CLI prints failures itself; the worker's own warnings would repeat them as stack traces.
    Runtime.install({
      logger: new DefaultLogger((process.env.HYBRIDRAG_WORKER_LOG_LEVEL as 'ERROR' | undefined) ?? 'ERROR'),
    });
  } catch {
    // Already installed by the host program.
  }
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? 'unknown error';
}

/** The workflow's current execution when it is running (to attach to it on its own task queue). */
export async function runningExecution(
  session: TemporalSession,
  workflowId: string,
): Promise<WorkflowExecutionDescription | undefined> {
  return session.client.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      (d) => (d.status.name === 'RUNNING' ? d : undefined),
      () => undefined,
    );
}

/**
 * The task queue of the workflows an embedded worker runs: one per workflow id, so a CLI's worker
 * only ever runs its own migration (with the password it was given), never another CLI's job for
 * which it has no credentials; a rerun after a crash polls the same queue and carries on.
 */
export function embeddedTaskQueue(workflowId: string): string {
  return `${TASK_QUEUE}/embedded/${createHash('sha256').update(workflowId).digest('hex').slice(0, 16)}`;
}

/**
 * Starts a workflow, or attaches to the running one with the same id. A server that cannot take
 * it (shard not ready, namespace missing) is reported in one sentence, not as a stack trace.
 */
export async function startOrAttach(
  session: TemporalSession,
  workflowType: string,
  options: {
    workflowId: string;
    args: unknown[];
    taskQueue?: string;
    searchAttributes?: Record<string, string[]>;
    workflowExecutionTimeout?: string;
  },
): Promise<WorkflowHandle> {
  try {
    return await session.client.workflow.start(workflowType, {
      taskQueue: options.taskQueue ?? TASK_QUEUE,
      workflowId: options.workflowId,
      args: options.args,
      workflowIdConflictPolicy: 'USE_EXISTING',
      ...(options.searchAttributes ? { searchAttributes: options.searchAttributes } : {}),
      ...(options.workflowExecutionTimeout ? { workflowExecutionTimeout: options.workflowExecutionTimeout } : {}),
    });
  } catch (error) {
    const cause = (error as { cause?: { details?: string } }).cause?.details ?? firstLine(error);
    throw new UserError(
      `Temporal at ${session.settings.address} could not start the workflow ${options.workflowId} (${cause}); check the server with npm run services -- status and try again.`,
    );
  }
}
