import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
export const WORKER_MAIN = path.join(root, 'dist/workers/main.js');
/** the same worker with the fault hooks of ./testHooks.ts (./faultWorker.ts, compiled by npm run build) */
export const FAULT_WORKER = path.join(root, 'dist/test/helpers/faultWorker.js');

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** kill -9: no graceful shutdown, in-flight activities are simply lost */
  kill9(): Promise<void>;
  /** SIGTERM, then waits for the exit */
  stop(): Promise<void>;
}

/**
 * `node dist/workers/main.js` as its own OS process (npm run build first), on the test's task
 * queue. The password reaches it through the environment only (HYBRIDRAG_PG_PASSWORD), as in
 * production. A HYBRIDRAG_TEST_* hook in `env` (./testHooks.ts) starts the test worker
 * (dist/test/helpers/faultWorker.js) instead, the production worker with those hooks.
 */
export async function startWorkerProcess(options: {
  temporalAddress: string;
  taskQueue: string;
  password?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<WorkerProcess> {
  const hooked = Object.keys(options.env ?? {}).some((name) => name.startsWith('HYBRIDRAG_TEST_'));
  const child = spawn(process.execPath, [hooked ? FAULT_WORKER : WORKER_MAIN], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: options.temporalAddress,
      HYBRIDRAG_TASK_QUEUE: options.taskQueue,
      HYBRIDRAG_ACTIVITY_SLOTS: '4',
      ...(options.password ? { HYBRIDRAG_PG_PASSWORD: options.password } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('worker polling')) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`worker exited (${child.exitCode}): ${out}`));
      }
    }, 50);
  });
  return {
    child,
    output: () => out,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls until check() is truthy. */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 60_000,
  what = 'condition',
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
