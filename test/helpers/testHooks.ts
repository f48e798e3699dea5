/**
 * Fault-injection hooks for the fault and control tests, applied only by the test worker
 * (./faultWorker.ts, started by ./workerProcess.ts): the production worker has no such code path.
 * Read from the worker process's environment:
 *
 *   HYBRIDRAG_TEST_HANG=<activity>[:<n>][:after]
 *       the n-th call (default 1) of that activity in this worker process writes the file named by
 *       HYBRIDRAG_TEST_HANG_MARKER and then never returns — before the activity's body runs, or
 *       after it (its effects committed, its result never reported) with `:after` — so a test can
 *       kill -9 the worker at an exact point of a migration.
 *   HYBRIDRAG_TEST_BATCH_DELAY_MS=<ms>
 *       every loadBatchRange waits that long per batch it loads first, so a migration stays mid-collection for a while.
 *   HYBRIDRAG_TEST_STEP_DELAY=<activity>:<ms>
 *       every call of that activity waits that long first, so a migration stays in that step a while.
 */
import { writeFileSync } from 'node:fs';

type ActivityMap = Record<string, (...args: never[]) => Promise<unknown>>;

interface HangHook {
  activity: string;
  call: number;
  after: boolean;
  marker: string | undefined;
}

function parseHang(spec: string | undefined, marker: string | undefined): HangHook | undefined {
  if (!spec) return undefined;
  const [activity, ...rest] = spec.split(':');
  const after = rest.includes('after');
  const call = Number(rest.find((r) => /^\d+$/.test(r)) ?? 1);
  return activity ? { activity, call, after, marker } : undefined;
}

const forever = () => new Promise<never>(() => undefined);

/** The activities unchanged when no hook is set; otherwise wrapped as the hooks say. */
export function withTestHooks<T extends object>(activities: T, env: NodeJS.ProcessEnv = process.env): T {
  const hang = parseHang(env.HYBRIDRAG_TEST_HANG, env.HYBRIDRAG_TEST_HANG_MARKER);
  const delay = Number(env.HYBRIDRAG_TEST_BATCH_DELAY_MS) || 0;
  const [stepName, stepMs] = (env.HYBRIDRAG_TEST_STEP_DELAY ?? '').split(':');
  const stepDelay = stepName && Number(stepMs) > 0 ? { activity: stepName, ms: Number(stepMs) } : undefined;
  if (!hang && !delay && !stepDelay) return activities;
  const wrapped: ActivityMap = { ...(activities as unknown as ActivityMap) };
  let calls = 0;
  const stop = async (args: unknown): Promise<never> => {
    if (hang?.marker)
      writeFileSync(hang.marker, JSON.stringify({ activity: hang.activity, call: calls, after: hang.after, args }));
    return forever();
  };
  if (hang && wrapped[hang.activity]) {
    const original = wrapped[hang.activity]!;
    wrapped[hang.activity] = async (...args: never[]) => {
      calls += 1;
      const hit = calls === hang.call;
      if (hit && !hang.after) return stop(args[0]);
      const result = await original(...args);
      if (hit) return stop(args[0]);
      return result;
    };
  }
  if (delay && wrapped.loadBatchRange) {
    const original = wrapped.loadBatchRange;
    wrapped.loadBatchRange = async (...args: never[]) => {
      const batches = (args[0] as { batchCount?: number } | undefined)?.batchCount ?? 1;
      await new Promise((r) => setTimeout(r, delay * batches));
      return original(...args);
    };
  }
  if (stepDelay && wrapped[stepDelay.activity]) {
    const original = wrapped[stepDelay.activity]!;
    wrapped[stepDelay.activity] = async (...args: never[]) => {
      await new Promise((r) => setTimeout(r, stepDelay.ms));
      return original(...args);
    };
  }
  return wrapped as unknown as T;
}
