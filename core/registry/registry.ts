import { randomBytes } from 'node:crypto';
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMap, parseDocument, type Document } from 'yaml';
import { z } from 'zod';

/** Registry problems a user fixes: one sentence naming the file or entry and what to do. */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

export const RegistryEntrySchema = z
  .object({
    name: z.string().optional(),
    path: z.string().min(1),
    backend_type: z.string().default('json'),
    backend_config: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .passthrough();
export type RegistryEntry = z.infer<typeof RegistryEntrySchema>;

export interface ResolvedDatabase {
  name: string;
  path: string;
  entry: RegistryEntry;
  registryPath: string;
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/**
 * Where HybridRAG keeps its registry, in HybridRAG's own order: HYBRIDRAG_CONFIG, then the path
 * written in ~/.hybridrag/config_pointer, then ~/.hybridrag/registry.yaml.
 */
export function resolveRegistryPath(env: NodeJS.ProcessEnv = process.env, home = env.HOME || os.homedir()): string {
  if (env.HYBRIDRAG_CONFIG) return path.resolve(expandHome(env.HYBRIDRAG_CONFIG, home));
  const pointer = path.join(home, '.hybridrag', 'config_pointer');
  if (existsSync(pointer)) {
    const target = readFileSync(pointer, 'utf8').trim();
    if (target) return path.resolve(expandHome(target, home));
  }
  return path.join(home, '.hybridrag', 'registry.yaml');
}

function loadDocument(registryPath: string, text: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new RegistryError(
      `The registry ${registryPath} is not valid YAML${line ? ` (line ${line})` : ''}; fix it, or point HYBRIDRAG_CONFIG to another registry.`,
    );
  }
  return doc;
}

async function readDocument(registryPath: string): Promise<Document> {
  let text: string;
  try {
    text = await fs.readFile(registryPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new RegistryError(
        `There is no HybridRAG registry at ${registryPath}; register the database with HybridRAG first, or pass --path DIR.`,
      );
    }
    throw error;
  }
  return loadDocument(registryPath, text);
}

/** Looks a database up by name (case-insensitive, as HybridRAG does). */
export async function findDatabase(name: string, registryPath = resolveRegistryPath()): Promise<ResolvedDatabase> {
  const doc = await readDocument(registryPath);
  const key = name.trim().toLowerCase();
  const databases = doc.get('databases');
  const raw = isMap(databases) ? databases.get(key) : undefined;
  if (raw === undefined) {
    throw new RegistryError(
      `No database named "${name}" in the registry ${registryPath}; check the name (hybridrag db list) or pass --path DIR.`,
    );
  }
  const parsed = RegistryEntrySchema.safeParse((raw as { toJSON?: () => unknown }).toJSON?.() ?? raw);
  if (!parsed.success) {
    throw new RegistryError(
      `The registry entry "${key}" in ${registryPath} has no valid path; fix the entry or pass --path DIR.`,
    );
  }
  return {
    name: key,
    path: path.resolve(expandHome(parsed.data.path, os.homedir())),
    entry: parsed.data,
    registryPath,
  };
}

export interface BackendSwitch {
  backend_type: string;
  /** never holds a password */
  backend_config: Record<string, unknown> | null;
}

/**
 * Switches a registry entry's backend, editing the YAML in place (comments and other entries
 * stay as they are), after keeping a copy of the previous file beside it. Returns the copy's
 * path and the entry's previous backend, so it can be switched back.
 */
export async function switchBackend(
  registryPath: string,
  name: string,
  next: BackendSwitch,
  stamp: string,
): Promise<{ copyPath: string; previous: BackendSwitch }> {
  if (next.backend_config && JSON.stringify(next.backend_config).match(/"(postgres_)?password"/)) {
    throw new RegistryError(
      'Refusing to write a password into the registry; pass credentials through the environment instead.',
    );
  }
  const text = await fs.readFile(registryPath, 'utf8');
  const doc = loadDocument(registryPath, text);
  const key = name.toLowerCase();
  const entryPath = ['databases', key];
  if (!doc.hasIn(entryPath))
    throw new RegistryError(`No database named "${name}" in the registry ${registryPath}; nothing to switch.`);
  const current = RegistryEntrySchema.parse((doc.getIn(entryPath) as { toJSON(): unknown }).toJSON());
  const previous: BackendSwitch = {
    backend_type: current.backend_type,
    backend_config: current.backend_config ?? null,
  };

  const copyPath = `${registryPath}.before-migrate-${stamp}`;
  await fs.writeFile(copyPath, text, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  doc.setIn([...entryPath, 'backend_type'], next.backend_type);
  if (next.backend_config === null) doc.deleteIn([...entryPath, 'backend_config']);
  else doc.setIn([...entryPath, 'backend_config'], doc.createNode(next.backend_config));

  const temp = `${registryPath}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(temp, doc.toString(), { mode: 0o600 });
  await fs.rename(temp, registryPath);
  return { copyPath, previous };
}
