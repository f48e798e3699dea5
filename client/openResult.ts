import { stringify } from 'yaml';
import { envLines, lightragSettings, pythonLines, type LightragSettings } from '../core/migration/openWith';
import type { VectorIndexType } from '../core/postgres/layouts/types';
import { findDatabase, type RegistryEntry } from '../core/registry/registry';
import { readState, type MigrationState } from '../core/state/stateFile';

/** How to open a promoted workspace: LightRAG's settings, and the HybridRAG registry entry as it now stands. */
export interface OpenResult {
  /** null for the hybridrag layout (LightRAG's storages do not read its tables) */
  lightrag: (LightragSettings & { envLines: string[]; python: string[] }) | null;
  hybridrag: { registry: string; name: string; entry: RegistryEntry } | null;
}

export interface PromotedWorkspace {
  target: { host: string; port: number; user: string; database: string };
  workspace: string;
  layout: 'lightrag' | 'hybridrag';
  dimension: number;
  embeddingModel?: string;
  vectorIndex: VectorIndexType;
  registry?: { path: string; name: string };
}

export async function openResult(w: PromotedWorkspace): Promise<OpenResult> {
  let lightrag: OpenResult['lightrag'] = null;
  if (w.layout === 'lightrag') {
    const settings = lightragSettings({
      ...w.target,
      workspace: w.workspace,
      dimension: w.dimension,
      ...(w.embeddingModel ? { embeddingModel: w.embeddingModel } : {}),
      vectorIndex: w.vectorIndex,
    });
    lightrag = { ...settings, envLines: envLines(settings), python: pythonLines(settings) };
  }
  const found = w.registry ? await findDatabase(w.registry.name, w.registry.path).catch(() => undefined) : undefined;
  return {
    lightrag,
    hybridrag: found ? { registry: found.registryPath, name: found.name, entry: found.entry } : null,
  };
}

/** The workspace a state file of a promoted job describes (its target is a password-free URL). */
export function promotedWorkspaceOf(
  state: MigrationState,
  registry?: { path: string; name: string },
): PromotedWorkspace | undefined {
  if (state.phase !== 'promoted' || !state.target || !state.workspace || !state.dimension) return undefined;
  const url = new URL(state.target);
  return {
    target: {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      database: decodeURIComponent(url.pathname.slice(1)),
    },
    workspace: state.workspace,
    layout: state.layout ?? 'lightrag',
    dimension: state.dimension,
    ...(state.embedding_model ? { embeddingModel: state.embedding_model } : {}),
    vectorIndex: state.vector_index ?? 'hnsw',
    ...(registry ? { registry } : {}),
  };
}

/** The text printed at the end of a run and by `backend status` after a promote. */
export function openResultText(r: OpenResult): string {
  const out: string[] = [];
  if (r.lightrag) {
    out.push('Open it in LightRAG — .env (lightrag-server) settings:');
    out.push(...r.lightrag.envLines.map((l) => `   ${l}`));
    out.push('or in Python (POSTGRES_HOST/PORT/USER/DATABASE/WORKSPACE and POSTGRES_PASSWORD in the environment):');
    out.push(...r.lightrag.python.map((l) => `   ${l}`));
    out.push(...r.lightrag.notes.map((n) => `   note: ${n}`));
  }
  if (r.hybridrag) {
    out.push(`HybridRAG registry entry '${r.hybridrag.name}' (${r.hybridrag.registry}):`);
    out.push(
      ...stringify(r.hybridrag.entry)
        .trimEnd()
        .split('\n')
        .map((l) => `   ${l}`),
    );
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** How to open the database's promoted workspace, from its state file; null when it is not promoted. */
export async function openPromoted(db: {
  path: string;
  registry?: { path: string; name: string };
}): Promise<OpenResult | null> {
  const state = await readState(db.path).catch(() => undefined);
  const promoted = state ? promotedWorkspaceOf(state, db.registry) : undefined;
  return promoted ? openResult(promoted) : null;
}
