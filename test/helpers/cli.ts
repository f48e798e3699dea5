import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';

const root = path.resolve(__dirname, '../..');
export const CLI = path.join(root, 'dist/client/cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `hybridrag` binary (built by `npm run build`) with a clean environment. */
export function hybridrag(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { input?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: env.HOME ?? process.env.HOME,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_UI_URL: inject('temporalUiUrl'),
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export interface RunningCli {
  output(): string;
  /** kill -9 of the CLI and the worker embedded in it; resolves once it is gone */
  kill9(): Promise<void>;
}

/** Starts the real binary in the background, for a test that kills it part-way. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawnCli(args, env);
  child.stdin.end('');
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    output: () => out,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
