import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import { createWorker } from '../../workers/createWorker';

export interface TestTemporal {
  client: Client;
  taskQueue: string;
  /** polls the test's task queue from creation until close() */
  worker: Worker;
  close(): Promise<void>;
}

/** A credential store that knows the password of this connection string (a scratch database's). */
export function credentialsFor(url: string): CredentialStore {
  const credentials = new CredentialStore({});
  const { target, password } = parseConnectionString(url);
  credentials.remember(target, password!);
  return credentials;
}

/** A real client and worker on the test Temporal server, on a task queue of this test's own. */
export async function connectTestTemporal(credentials = new CredentialStore()): Promise<TestTemporal> {
  quietRuntime();
  const address = inject('temporalAddress');
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const taskQueue = `test-${randomBytes(5).toString('hex')}`;
  const { worker, close: closePools } = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    credentials,
    taskQueue,
    workflowBundlePath: inject('workflowBundlePath'),
  });
  const running = worker.run();
  return {
    client: new Client({ connection, namespace: 'default' }),
    taskQueue,
    worker,
    async close() {
      worker.shutdown();
      await running;
      await closePools();
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/**
 * A workflow history as searchable text: the history JSON plus every payload decoded, so a test
 * can look for a string anywhere in inputs, results, failures, memos and search attributes.
 */
export function historyText(history: unknown): string {
  const decoded: string[] = [];
  const text = JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) {
      decoded.push(Buffer.from(value).toString('utf8'));
      return undefined;
    }
    if (key === 'data' && typeof value === 'string') decoded.push(Buffer.from(value, 'base64').toString('utf8'));
    return value;
  });
  return `${text}\n${decoded.join('\n')}`;
}

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}
