import type { WorkflowHandle } from '@temporalio/client';
import type { CredentialStore } from '../../core/credentials';
import { temporalSettings, workflowUiLink, type TemporalSettings } from '../../core/config';
import { UserError } from '../errors';
import { failureMessage } from '../failures';
import { awaitResult, hostWorker, type WorkerMode } from '../runner';
import { connectTemporal, runningExecution, startOrAttach, type TemporalSession } from '../temporal';

export interface WorkflowRun {
  workflowType: string;
  workflowId: string;
  args: unknown[];
  credentials: CredentialStore;
  worker?: WorkerMode;
  temporal?: Partial<TemporalSettings>;
  searchAttributes?: Record<string, string[]>;
  /**
   * Called once the session is open, before anything starts: `running` tells whether the workflow
   * already runs (then the caller attaches and must not start a job of its own). Throwing here
   * (a refused preflight, a declined prompt) starts nothing. It may return a release function,
   * called on every way out (a paused watcher resumed).
   */
  beforeStart?(context: { session: TemporalSession; running: boolean }): Promise<(() => void) | void>;
  /** The workflow started or attached; what it returns is awaited before the session closes. */
  onStarted?(handle: WorkflowHandle, context: { running: boolean; link: string }): () => Promise<void>;
}

/**
 * The one way a job runs a workflow, for the CLI and the API: connect to Temporal, host a worker
 * when none polls, start or attach, await the result, and close everything on every way out.
 * A workflow failure becomes one sentence (its innermost cause).
 */
export async function runWorkflow<R>(run: WorkflowRun): Promise<R> {
  const settings = temporalSettings(process.env, run.temporal ?? {});
  const session = await connectTemporal(settings);
  let release: (() => void) | void = undefined;
  try {
    const running = await runningExecution(session, run.workflowId);
    release = await run.beforeStart?.({ session, running: Boolean(running) });
    const mode = run.worker ?? 'auto';
    const host = await hostWorker(session, run.credentials, mode, { workflowId: run.workflowId, running });
    try {
      const handle = await startOrAttach(session, run.workflowType, {
        workflowId: run.workflowId,
        taskQueue: host.taskQueue,
        args: run.args,
        ...(run.searchAttributes ? { searchAttributes: run.searchAttributes } : {}),
      });
      const stopWatching = run.onStarted?.(handle, {
        running: Boolean(running),
        link: workflowUiLink(settings, run.workflowId),
      });
      try {
        return await awaitResult<R>(handle, host, mode);
      } catch (error) {
        throw new UserError(failureMessage(error));
      } finally {
        await stopWatching?.();
      }
    } finally {
      await host.stop();
    }
  } finally {
    release?.();
    await session.close();
  }
}

/** Whether a workflow runs now (one short session). */
export async function isRunning(workflowId: string, temporal?: Partial<TemporalSettings>): Promise<boolean> {
  const session = await connectTemporal(temporalSettings(process.env, temporal ?? {}));
  try {
    return Boolean(await runningExecution(session, workflowId));
  } finally {
    await session.close();
  }
}
