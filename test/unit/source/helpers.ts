import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { FIXTURES } from '../../helpers/fixtures';

export const repoRoot = path.resolve(__dirname, '../../..');
export const fixturesRoot = FIXTURES;

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `hybridrag-${prefix}-`));
}

/** One row of fixtures/real/MANIFEST.tsv, as written there. */
export type ManifestRow = Record<string, string>;

export function readManifest(): ManifestRow[] {
  const lines = readFileSync(path.join(fixturesRoot, 'MANIFEST.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  const header = lines[0]!.split('\t');
  return lines.slice(1).map((line) => Object.fromEntries(line.split('\t').map((v, i) => [header[i]!, v])));
}

/**
 * Transpiles core/source/*.ts to CommonJS in a temp folder (no type-check; tsc does that), for
 * child processes that must run without vitest (e.g. to measure their own peak RSS).
 */
export function transpileSource(): string {
  const out = tempDir('src-js');
  const srcDir = path.join(repoRoot, 'core/source');
  const dst = path.join(out, 'core/source');
  mkdirSync(dst, { recursive: true });
  for (const f of readdirSync(srcDir).filter((n) => n.endsWith('.ts'))) {
    const js = ts.transpileModule(readFileSync(path.join(srcDir, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    writeFileSync(path.join(dst, f.replace(/\.ts$/, '.js')), js);
  }
  // resolve packages (zod, saxes) from the repo
  writeFileSync(path.join(out, 'package.json'), '{}');
  return out;
}
