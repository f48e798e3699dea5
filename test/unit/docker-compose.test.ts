import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '../..');
type Service = {
  image?: string;
  build?: unknown;
  ports?: string[];
  healthcheck?: { test: unknown };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  volumes?: string[];
};
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

// No Docker engine runs here: the file is checked for structure, not started.
describe('docker-compose.yml', () => {
  it('has PostgreSQL with pgvector, Temporal, its UI and a worker built from this repo', () => {
    const { services } = compose;
    expect(services.postgres?.image).toMatch(/^pgvector\/pgvector:/);
    expect(services.temporal?.image).toMatch(/^temporalio\//);
    expect(services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
    expect(services.worker?.build).toBe('.');
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/dist\/workers\/main\.js/);
  });

  it('publishes the usual ports on loopback only', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports).toEqual(
      expect.arrayContaining(['127.0.0.1:5432:5432', '127.0.0.1:7233:7233', '127.0.0.1:8233:8080']),
    );
    for (const port of ports) expect(port.startsWith('127.0.0.1:')).toBe(true);
  });

  it('gives every long-running service a health check and waits on them', () => {
    for (const name of ['postgres', 'temporal', 'temporal-ui', 'worker']) {
      expect(compose.services[name]?.healthcheck?.test, name).toBeTruthy();
    }
    expect(compose.services.worker?.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      temporal: { condition: 'service_healthy' },
    });
  });

  it('persists PostgreSQL and Temporal data in volumes', () => {
    expect(compose.services.postgres?.volumes?.[0]).toMatch(/^postgres-data:/);
    expect(compose.services['temporal-db']?.volumes?.[0]).toMatch(/^temporal-db-data:/);
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['postgres-data', 'temporal-db-data']));
  });

  it('gives Temporal the same one-partition task queues as the local services script', () => {
    const temporal = compose.services.temporal!;
    const mount = temporal.volumes?.find((v) => v.includes('dynamicconfig'));
    expect(mount).toBeDefined();
    const [file, inside] = mount!.split(':');
    expect(`/etc/temporal/${temporal.environment?.DYNAMIC_CONFIG_FILE_PATH}`).toBe(inside);
    const config = parse(readFileSync(path.join(root, file!), 'utf8')) as Record<string, { value: unknown }[]>;
    const script = readFileSync(path.join(root, 'scripts/services.sh'), 'utf8');
    for (const key of ['matching.numTaskqueueReadPartitions', 'matching.numTaskqueueWritePartitions']) {
      expect(config[key]?.[0]?.value).toBe(1);
      expect(script).toContain(`${key}=1`);
    }
  });

  it('registers the same search attributes as the local services script', () => {
    const script = readFileSync(path.join(root, 'scripts/services.sh'), 'utf8');
    const listed = /SEARCH_ATTRIBUTES=\(([^)]*)\)/.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
    expect(listed.length).toBeGreaterThan(0);
    const setup = JSON.stringify(compose.services['temporal-setup']);
    for (const attribute of listed) expect(setup).toContain(attribute);
  });

  it('never runs the worker scaled services with a fixed container name', () => {
    expect(JSON.stringify(compose.services.worker)).not.toContain('container_name');
  });
});
