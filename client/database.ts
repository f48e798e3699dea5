import { statSync } from 'node:fs';
import path from 'node:path';
import { findDatabase, resolveRegistryPath } from '../core/registry/registry';
import { UserError } from './errors';

export interface DatabaseRef {
  /** registry name, or the folder name for --path */
  name: string;
  path: string;
  /** set when the database came from the registry (its entry is switched after promote) */
  registry?: { path: string; name: string };
}

/** `<name>` through the HybridRAG registry, or `--path DIR` for a database that is not registered. */
export async function resolveDatabase(
  name: string | undefined,
  dir: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DatabaseRef> {
  if (dir) {
    const full = path.resolve(dir);
    let stat;
    try {
      stat = statSync(full);
    } catch {
      throw new UserError(`--path ${dir} does not exist; point it to a LightRAG working directory.`, 2);
    }
    if (!stat.isDirectory())
      throw new UserError(
        `--path ${dir} is a file, not a folder; point it to the LightRAG working directory that holds the kv_store_*.json files.`,
        2,
      );
    return { name: name ?? path.basename(full).toLowerCase(), path: full };
  }
  if (!name) throw new UserError('Name the database to migrate (as registered in HybridRAG), or pass --path DIR.', 2);
  try {
    const found = await findDatabase(name, resolveRegistryPath(env));
    return { name: found.name, path: found.path, registry: { path: found.registryPath, name: found.name } };
  } catch (error) {
    throw new UserError((error as Error).message);
  }
}
