/**
 * Runs backup code in a separate process (bundled by esbuild in the tests): to measure peak memory
 * on a large file, and to kill a restore half-way through its swap.
 *   node child.js memory <dbDir>
 *   node child.js restore-crash <dbDir> <backupId>
 *   node child.js backup-crash <dbDir>      (killed when the second file is about to be read)
 */
import { readFileSync } from 'node:fs';
import { createBackup, restoreBackup, verifyBackup } from '../../../core/backup';

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Backs up and verifies `dir` (a large file was generated there by the test) and reports peak RSS. */
async function memory(dir: string): Promise<void> {
  const started = Date.now();
  let progressCalls = 0;
  const result = await createBackup(dir, 'big', { gzipLevel: 1, onProgress: () => progressCalls++ });
  const backupMs = Date.now() - started;
  await verifyBackup(dir, result.id);
  process.stdout.write(
    JSON.stringify({
      peakRssMiB: peakRssMiB(),
      metaSha256: result.meta.files[0]?.sha256,
      size: result.meta.total_size,
      archiveSize: result.meta.archive.size,
      progressCalls,
      backupMs,
      totalMs: Date.now() - started,
    }),
  );
}

async function restoreCrash(dir: string, id: string): Promise<void> {
  await restoreBackup(dir, id, {
    hooks: {
      afterSwap: (_rel, index) => {
        if (index === 0) process.kill(process.pid, 'SIGKILL');
      },
    },
  });
  process.stdout.write('not killed');
}

async function backupCrash(dir: string): Promise<void> {
  let files = 0;
  await createBackup(dir, 'crash', {
    hooks: {
      beforeFileRead: () => {
        if (++files === 2) process.kill(process.pid, 'SIGKILL');
      },
    },
  });
  process.stdout.write('not killed');
}

const [mode, dir = '', arg = ''] = process.argv.slice(2);
(mode === 'memory' ? memory(dir) : mode === 'backup-crash' ? backupCrash(dir) : restoreCrash(dir, arg)).catch(
  (error: unknown) => {
    process.stderr.write(String((error as Error)?.stack ?? error));
    process.exit(2);
  },
);
