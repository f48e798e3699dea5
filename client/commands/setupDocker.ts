import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { UserError } from '../errors';
import type { CommandIo } from './io';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** `hybridrag backend setup-docker`: the compose services where a Docker engine runs; otherwise where to turn. */
export function setupDockerCommand(io: CommandIo, docker = 'docker'): void {
  const info = spawnSync(docker, ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (info.error || info.status !== 0) {
    throw new UserError(
      'No Docker engine is running here (docker info failed); on a machine without Docker start PostgreSQL + pgvector and Temporal with: npm run services -- up',
    );
  }
  io.out(
    `Docker engine ${info.stdout.trim()}: starting PostgreSQL + pgvector, Temporal, its UI and a worker (docker compose up -d) …\n`,
  );
  const up = spawnSync(docker, ['compose', '-f', path.join(ROOT, 'docker-compose.yml'), 'up', '-d'], {
    stdio: 'inherit',
  });
  if (up.status !== 0)
    throw new UserError(
      'docker compose up failed (see its output above); fix it and run hybridrag backend setup-docker again.',
    );
  io.out(
    'Services are up: PostgreSQL on 127.0.0.1:5432, Temporal on 127.0.0.1:7233, its UI on http://127.0.0.1:8233.\n',
  );
}
