import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findDatabase, RegistryError, resolveRegistryPath, switchBackend } from '../../../core/registry/registry';

function home(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'home-'));
  mkdirSync(path.join(dir, '.hybridrag'));
  return dir;
}

const REGISTRY = `# my databases
version: 1
databases:
  specstory:
    name: specstory
    path: /data/specstory
    backend_type: json
    auto_watch: true   # keep watching
  other:
    name: other
    path: /data/other
`;

describe('registry location, as HybridRAG resolves it', () => {
  it('prefers HYBRIDRAG_CONFIG, then config_pointer, then ~/.hybridrag/registry.yaml', () => {
    const h = home();
    expect(resolveRegistryPath({}, h)).toBe(path.join(h, '.hybridrag/registry.yaml'));
    writeFileSync(path.join(h, '.hybridrag/config_pointer'), '~/elsewhere/reg.yaml\n');
    expect(resolveRegistryPath({}, h)).toBe(path.join(h, 'elsewhere/reg.yaml'));
    expect(resolveRegistryPath({ HYBRIDRAG_CONFIG: '/etc/hr.yaml' }, h)).toBe('/etc/hr.yaml');
  });

  it('ignores an empty config_pointer', () => {
    const h = home();
    writeFileSync(path.join(h, '.hybridrag/config_pointer'), '  \n');
    expect(resolveRegistryPath({}, h)).toBe(path.join(h, '.hybridrag/registry.yaml'));
  });
});

describe('findDatabase', () => {
  it('finds an entry by name, case-insensitively', async () => {
    const file = path.join(home(), 'registry.yaml');
    writeFileSync(file, REGISTRY);
    const db = await findDatabase('SpecStory', file);
    expect(db.name).toBe('specstory');
    expect(db.path).toBe('/data/specstory');
    expect(db.entry.backend_type).toBe('json');
  });

  it('says clearly when the name, the file or its YAML is wrong', async () => {
    const file = path.join(home(), 'registry.yaml');
    await expect(findDatabase('x', file)).rejects.toThrow(/There is no HybridRAG registry at .*pass --path DIR/);
    writeFileSync(file, REGISTRY);
    await expect(findDatabase('nope', file)).rejects.toThrow(`No database named "nope" in the registry ${file}`);
    writeFileSync(file, 'databases:\n  a: [unclosed\n');
    const error = await findDatabase('a', file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as Error).message).toMatch(/is not valid YAML \(line \d+\); fix it/);
  });
});

describe('switchBackend', () => {
  it('switches one entry, keeps comments and the other entries, and keeps a copy of the file', async () => {
    const file = path.join(home(), 'registry.yaml');
    writeFileSync(file, REGISTRY);
    const { copyPath, previous } = await switchBackend(
      file,
      'specstory',
      {
        backend_type: 'postgres',
        backend_config: {
          backend_type: 'postgres',
          postgres_host: 'db',
          postgres_port: 5432,
          postgres_user: 'u',
          postgres_database: 'kb',
          postgres_workspace: 'default',
        },
      },
      '20251219_213814',
    );
    expect(previous).toEqual({ backend_type: 'json', backend_config: null });
    expect(readFileSync(copyPath, 'utf8')).toBe(REGISTRY);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# my databases');
    expect(text).toContain('auto_watch: true # keep watching');
    const db = await findDatabase('specstory', file);
    expect(db.entry.backend_type).toBe('postgres');
    expect(db.entry.backend_config).toMatchObject({ postgres_host: 'db', postgres_workspace: 'default' });
    expect((await findDatabase('other', file)).entry.backend_type).toBe('json');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    await switchBackend(file, 'specstory', previous, '20251219_220000');
    const back = await findDatabase('specstory', file);
    expect(back.entry.backend_type).toBe('json');
    expect(back.entry.backend_config).toBeUndefined();
  });

  it('never writes a password', async () => {
    const file = path.join(home(), 'registry.yaml');
    writeFileSync(file, REGISTRY);
    await expect(
      switchBackend(file, 'specstory', { backend_type: 'postgres', backend_config: { postgres_password: 'x' } }, 's'),
    ).rejects.toThrow(/Refusing to write a password/);
    expect(readFileSync(file, 'utf8')).toBe(REGISTRY);
  });
});
