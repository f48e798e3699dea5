import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildChild, tempDir, writeLargeFile } from './helpers';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('backup memory', () => {
  it('streams a ~300 MB file through sha256, tar and gzip (and verifies it) with flat memory', async () => {
    const dir = tempDir('backup-big-');
    dirs.push(dir);
    const mib = 300;
    const sha = writeLargeFile(path.join(dir, 'vdb_chunks.json'), mib);
    const child = await buildChild();
    dirs.push(path.dirname(child));
    const { stdout } = await run(process.execPath, [child, 'memory', dir], { maxBuffer: 1 << 20 });
    const report = JSON.parse(stdout) as {
      peakRssMiB: number;
      metaSha256: string;
      size: number;
      progressCalls: number;
    };
    expect(report.size).toBe(mib * 1024 * 1024);
    expect(report.metaSha256).toBe(sha);
    expect(report.progressCalls).toBeGreaterThanOrEqual(mib);
    expect(report.peakRssMiB).toBeLessThan(150);
  });
});
