import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isProcessAlive } from '../core/processes';

export interface WatcherPause {
  /** a watcher process was running for the database */
  wasRunning: boolean;
  /** it acknowledged the pause within the timeout */
  acknowledged: boolean;
  pid?: number;
  /** lifts the pause (idempotent; safe from signal handlers) */
  resume(): void;
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Pauses a running HybridRAG watcher of the database the way HybridRAG's own watcher control
 * does: a `<name>.pause` file in ~/.hybridrag/watcher_control/, acknowledged by the watcher with
 * `<name>.pause_ack`; removing both resumes it. The watcher's pid is looked for there and in
 * ~/.hybridrag/watchers/<name>.pid.
 */
export async function pauseWatcher(name: string, home: string, timeoutMs = 30_000): Promise<WatcherPause> {
  const control = path.join(home, '.hybridrag', 'watcher_control');
  const pid =
    readPid(path.join(control, `${name}.pid`)) ?? readPid(path.join(home, '.hybridrag', 'watchers', `${name}.pid`));
  const pauseFile = path.join(control, `${name}.pause`);
  const ackFile = path.join(control, `${name}.pause_ack`);
  if (pid === undefined || !isProcessAlive(pid)) return { wasRunning: false, acknowledged: false, resume() {} };
  mkdirSync(control, { recursive: true });
  rmSync(ackFile, { force: true });
  writeFileSync(pauseFile, 'pause_requested');
  let resumed = false;
  const resume = () => {
    if (resumed) return;
    resumed = true;
    rmSync(pauseFile, { force: true });
    rmSync(ackFile, { force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !existsSync(ackFile) && isProcessAlive(pid))
    await new Promise((r) => setTimeout(r, 200));
  return { wasRunning: true, acknowledged: existsSync(ackFile), pid, resume };
}
