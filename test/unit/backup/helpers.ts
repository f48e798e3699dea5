import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  cpSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Header } from 'tar';
import { FIXTURES } from '../../helpers/fixtures';

export const repoRoot = path.resolve(__dirname, '../../..');
export const fixturesRoot = FIXTURES;

export function tempDir(prefix = 'backup-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) makeWritable(p);
    else chmodSync(p, 0o644);
  }
}

/** A writable copy of a real LightRAG folder from the shared fixtures (never modified in place). */
export function copyFixture(name: string): string {
  const dir = path.join(tempDir(), 'db');
  cpSync(path.join(fixturesRoot, name), dir, { recursive: true });
  makeWritable(dir);
  return dir;
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Every entry under `dir` (recursively): type, mode and content hash, to prove nothing was touched. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (e.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(p, r);
      } else if (e.isSymbolicLink()) out[r] = `link ${readlinkSync(p)}`;
      else out[r] = `file ${mode} ${sha256(readFileSync(p))}`;
    }
  };
  walk(dir, '');
  return out;
}

/** Only the data files (what a backup holds), relative path → sha256. */
export function dataSnapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(snapshot(dir))
      .filter(([k, v]) => v.startsWith('file') && !k.startsWith('.backups/') && !k.startsWith('.restore-'))
      .map(([k, v]) => [k, v.split(' ')[2] ?? '']),
  );
}

export function modeOf(p: string): number {
  return statSync(p).mode & 0o777;
}

export interface RawEntry {
  path: string;
  type?: 'File' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'Directory';
  data?: Buffer;
  linkpath?: string;
  /** a raw type flag written over the encoded one (e.g. 'V'), with the header checksum fixed up */
  typeflag?: string;
}

/** A .tar.gz (or plain .tar) built entry by entry (tar's Header encodes each header), for archives tar would not write. */
export function craftTarGz(entries: RawEntry[], gzip = true): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const header = new Header({
      path: e.path,
      type: e.type ?? 'File',
      size: e.type && e.type !== 'File' ? 0 : data.length,
      mode: 0o644,
      mtime: new Date(),
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
    });
    header.encode();
    const block = header.block!;
    if (e.typeflag) {
      block.write(e.typeflag, 156, 'latin1');
      block.fill(0x20, 148, 156);
      const sum = block.reduce((a, b) => a + b, 0);
      block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    }
    blocks.push(block);
    if ((e.type ?? 'File') === 'File' && data.length) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzip ? zlib.gzipSync(Buffer.concat(blocks)) : Buffer.concat(blocks);
}

let childBundle: Promise<string> | undefined;

/** child.ts bundled into one CommonJS file (tar and zod included), built once per test file. */
export function buildChild(): Promise<string> {
  childBundle ??= (async () => {
    const { build } = await import('esbuild');
    const outfile = path.join(tempDir('backup-child-'), 'child.js');
    await build({
      entryPoints: [path.join(__dirname, 'child.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile,
      logLevel: 'silent',
    });
    return outfile;
  })();
  return childBundle;
}

/** Runs the bundled child (buildChild) with `args`; resolves with how it ended. */
export function runChild(
  child: string,
  args: string[],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Writes `mib` MiB of random-ish base64 (repeating every 16 KiB, so gzip stays fast) and returns its sha256. */
export function writeLargeFile(file: string, mib: number): string {
  const block = Buffer.from(
    randomBytes(12 * 1024)
      .toString('base64')
      .repeat(64),
  );
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      block.write(String(i).padStart(12, '0'), 0);
      hash.update(block);
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
