import { Context } from '@temporalio/activity';
import { STEP_PROGRESS_SIGNAL, type StepProgress } from '../core/migration/types';

/**
 * How often a long activity tells its workflow how far it is. Each report is a signal and a
 * workflow task in the history (about 4 events), so the interval grows with the step: every 2 s
 * at first, then a twentieth of the time the step has run, at most every 30 s — a 12-hour step
 * sends under 2,000 reports, well inside Temporal's history limit.
 */
const REPORT_EVERY_MS = 2_000;
const REPORT_EVERY_MAX_MS = 30_000;

export interface StepReporter {
  /** the latest progress: heartbeated on the activity's timer, and sent to the workflow at most every 2 s */
  report(progress: StepProgress): void;
  latest(): StepProgress | undefined;
  /** sends the last report not yet sent and waits for it, so it reaches the workflow before the result */
  flush(): Promise<void>;
}

/**
 * Reports a long activity's progress to the workflow that runs it, as a signal: the workflow's
 * progress query and its Temporal UI details then show it (a heartbeat alone reaches neither).
 * Best effort: a report that cannot be sent is dropped, never fails the step.
 */
export function stepReporter(everyMs = REPORT_EVERY_MS): StepReporter {
  const ctx = Context.current();
  const send = workflowSignaller(ctx);
  const startedAt = Date.now();
  const interval = () => Math.max(everyMs, Math.min(REPORT_EVERY_MAX_MS, (Date.now() - startedAt) / 20));
  let latest: StepProgress | undefined;
  let unsent = false;
  let lastSentAt = 0;
  let inflight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const sendNow = (): void => {
    if (!unsent || !latest || inflight || !send) return;
    unsent = false;
    lastSentAt = Date.now();
    inflight = send(latest).finally(() => (inflight = undefined));
  };
  return {
    report(progress) {
      latest = progress;
      unsent = true;
      ctx.heartbeat(progress);
      const wait = lastSentAt + interval() - Date.now();
      if (wait <= 0 && !inflight) sendNow();
      else timer ??= setTimeout(() => ((timer = undefined), sendNow()), Math.max(wait, 50));
    },
    latest: () => latest,
    async flush() {
      clearTimeout(timer);
      timer = undefined;
      await inflight;
      sendNow();
      await inflight;
    },
  };
}

function workflowSignaller(ctx: Context): ((progress: StepProgress) => Promise<void>) | undefined {
  let client;
  try {
    client = ctx.client;
  } catch {
    return undefined; // a mock activity environment without a client
  }
  const execution = ctx.info.workflowExecution;
  if (!execution) return undefined; // an activity started on its own, outside a workflow
  const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
  return (progress) => handle.signal(STEP_PROGRESS_SIGNAL, progress).catch(() => undefined);
}

/** Units per second since the first call; null until a second has passed and something was done. */
export function rateMeter(now: () => number = Date.now): (done: number) => number | null {
  let start: { at: number; done: number } | undefined;
  return (done) => {
    start ??= { at: now(), done };
    const seconds = (now() - start.at) / 1000;
    return seconds >= 1 && done > start.done ? Math.round((done - start.done) / seconds) : null;
  };
}
