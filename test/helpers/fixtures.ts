import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** ../shared beside the checkout, or /work/shared for a git worktree elsewhere */
export const FIXTURES = [path.resolve(__dirname, '../../../shared/fixtures/real'), '/work/shared/fixtures/real'].find(
  (d) => existsSync(d),
)!;

/** A writable copy of a real fixture folder (the originals are read-only and never touched). */
export function copyFixture(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fixture-${name.slice(0, 20)}-`));
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

export interface ManifestRow {
  local_folder: string;
  record_counts: string;
  embedding_dim: string;
}

/** MANIFEST.tsv as rows keyed by column name. */
export function readManifest(): ManifestRow[] {
  const [header, ...lines] = readFileSync(path.join(FIXTURES, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  const columns = header!.split('\t');
  return lines.map(
    (line) => Object.fromEntries(line.split('\t').map((v, i) => [columns[i], v])) as unknown as ManifestRow,
  );
}

/** `full_docs=1;text_chunks=42;vdb_entities=376 (matrix rows 376);graphml=378n/259e` → counts. */
export function manifestCounts(row: ManifestRow): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of row.record_counts.split(';')) {
    const [key, value] = part.split('=');
    if (!key || !value) continue;
    if (key === 'graphml') {
      const m = /^(\d+)n\/(\d+)e/.exec(value);
      if (m) {
        out.graph_nodes = Number(m[1]);
        out.graph_edges = Number(m[2]);
      }
    } else if (key === 'llm_cache') {
      const m = /(\d+) entries/.exec(value);
      out.llm_response_cache = m ? Number(m[1]) : Number.parseInt(value, 10);
    } else out[key] = Number.parseInt(value, 10);
  }
  return out;
}
