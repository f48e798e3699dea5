/**
 * Discovery: which LightRAG files a folder (and its workspace sub-folders) holds, which
 * collections are present or absent, and their sizes. Refuses a folder that is not a LightRAG
 * working directory.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { NotLightRagDirectoryError, SourceError } from './errors';
import { GRAPH_COLLECTIONS, KV_COLLECTIONS, VECTOR_COLLECTIONS, type CollectionName } from './records';

export const GRAPH_FILE = 'graph_chunk_entity_relation.graphml';

/** The file each collection is read from (both graph collections come from the one GraphML file). */
export function collectionFile(collection: CollectionName): string {
  if ((KV_COLLECTIONS as readonly string[]).includes(collection)) return `kv_store_${collection}.json`;
  if ((VECTOR_COLLECTIONS as readonly string[]).includes(collection)) return `${collection}.json`;
  return GRAPH_FILE;
}

export const ALL_COLLECTIONS: readonly CollectionName[] = [
  ...KV_COLLECTIONS,
  ...VECTOR_COLLECTIONS,
  ...GRAPH_COLLECTIONS,
];

export interface PresentCollection {
  collection: CollectionName;
  file: string;
  size: number;
}

export interface DiscoveredWorkspace {
  /** '' for the working directory itself, else the sub-folder name (LightRAG's workspace) */
  workspace: string;
  dir: string;
  present: PresentCollection[];
  absent: CollectionName[];
  /** kv_store_*.json / vdb_*.json files that are not a known collection (not migrated) */
  unrecognized: string[];
  /** sum of the sizes of the files read (the GraphML counted once) */
  totalBytes: number;
}

export interface Discovery {
  root: string;
  workspaces: DiscoveredWorkspace[];
}

function isDataFileName(name: string): boolean {
  return name === GRAPH_FILE || /^kv_store_.+\.json$/.test(name) || /^vdb_.+\.json$/.test(name);
}

async function inspectFolder(dir: string, workspace: string): Promise<DiscoveredWorkspace | undefined> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const files = new Set(entries.filter((e) => e.isFile() && isDataFileName(e.name)).map((e) => e.name));
  if (files.size === 0) return undefined;
  const present: PresentCollection[] = [];
  const absent: CollectionName[] = [];
  const known = new Set<string>();
  let totalBytes = 0;
  for (const collection of ALL_COLLECTIONS) {
    const name = collectionFile(collection);
    known.add(name);
    if (!files.has(name)) {
      absent.push(collection);
      continue;
    }
    const file = path.join(dir, name);
    const st = await fsp.stat(file);
    if (collection !== 'graph_edges') totalBytes += st.size;
    present.push({ collection, file, size: st.size });
  }
  const unrecognized = [...files].filter((f) => !known.has(f)).sort();
  return { workspace, dir, present, absent, unrecognized, totalBytes };
}

/**
 * Finds the LightRAG data files in `dir` and in its immediate sub-folders (workspaces).
 * Hidden folders (e.g. `.backups`) are skipped.
 */
export async function discover(dir: string): Promise<Discovery> {
  const root = path.resolve(dir);
  let st: import('node:fs').Stats;
  try {
    st = await fsp.stat(root);
  } catch {
    throw new NotLightRagDirectoryError(
      `${root} does not exist; point the migration at your LightRAG working directory (the folder its working_dir setting names).`,
      root,
    );
  }
  if (!st.isDirectory()) {
    throw new NotLightRagDirectoryError(
      `${root} is a file, not a folder; point the migration at your LightRAG working directory (the folder its working_dir setting names).`,
      root,
    );
  }
  const workspaces: DiscoveredWorkspace[] = [];
  const top = await inspectFolder(root, '');
  if (top) workspaces.push(top);
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch (e) {
    throw new SourceError('IO_ERROR', `${root} cannot be listed (${(e as Error).message}); check its permissions.`, {
      file: root,
    });
  }
  for (const e of entries
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const ws = await inspectFolder(path.join(root, e.name), e.name);
    if (ws) workspaces.push(ws);
  }
  if (workspaces.length === 0) {
    throw new NotLightRagDirectoryError(
      `${root} is not a LightRAG working directory: neither it nor a sub-folder holds kv_store_*.json, vdb_*.json or ${GRAPH_FILE}; point the migration at the folder LightRAG's working_dir setting names.`,
      root,
    );
  }
  return { root, workspaces };
}
