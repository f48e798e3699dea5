import { z } from 'zod';
import { parseConnectionString, describeTarget, credentialKey, ConnectionStringError } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import { temporalSettings, workflowUiLink, TASK_QUEUE } from '../../core/config';
import type { DoctorResult } from '../../workflows/doctor';
import { UserError } from '../errors';
import { failureMessage } from '../failures';
import { awaitResult, hostWorker } from '../runner';
import { connectTemporal, startOrAttach } from '../temporal';

export const DoctorFlagsSchema = z.object({
  connectionString: z
    .string({
      error: 'No PostgreSQL to check: pass --connection-string postgres://user@host:port/db or set DATABASE_URL.',
    })
    .min(1),
  temporalAddress: z.string().min(1).optional(),
  worker: z.enum(['auto', 'embedded', 'external']).default('auto'),
  json: z.boolean().default(false),
});
export type DoctorFlags = z.infer<typeof DoctorFlagsSchema>;

export interface DoctorReport {
  temporal: { address: string; serverVersion: string; namespace: string };
  postgres: { target: string; version: string; user: string };
  pgvector: { version: string; createdNow: boolean };
  worker: 'embedded' | 'external';
  workflowId: string;
  workflowUrl: string;
}

/** `hybridrag doctor`: the walking skeleton through CLI → Temporal → worker → PostgreSQL. */
export async function runDoctor(flags: DoctorFlags): Promise<DoctorReport> {
  let parsed;
  try {
    parsed = parseConnectionString(flags.connectionString);
  } catch (error) {
    if (error instanceof ConnectionStringError) throw new UserError(error.message, 2);
    throw error;
  }
  const credentials = new CredentialStore();
  if (parsed.password !== undefined) credentials.remember(parsed.target, parsed.password);

  const settings = temporalSettings(process.env, flags.temporalAddress ? { address: flags.temporalAddress } : {});
  const session = await connectTemporal(settings);
  const host = await hostWorker(session, credentials, flags.worker);
  try {
    const workflowId = `doctor/${credentialKey(parsed.target)}/${parsed.target.database}`;
    const handle = await startOrAttach(session, 'doctorWorkflow', {
      workflowId,
      args: [{ target: parsed.target }],
      workflowExecutionTimeout: '5 minutes',
    });
    let result: DoctorResult;
    try {
      result = await awaitResult<DoctorResult>(handle, host, flags.worker);
    } catch (error) {
      throw new UserError(failureMessage(error));
    }
    return {
      temporal: { address: settings.address, serverVersion: session.serverVersion, namespace: settings.namespace },
      postgres: {
        target: describeTarget(parsed.target),
        version: result.database.postgresVersion,
        user: result.database.currentUser,
      },
      pgvector: { version: result.database.pgvectorVersion, createdNow: result.database.pgvectorCreated },
      worker: host.embedded ? 'embedded' : 'external',
      workflowId,
      workflowUrl: workflowUiLink(settings, workflowId),
    };
  } finally {
    await host.stop();
    await session.close();
  }
}

export function formatDoctorReport(report: DoctorReport): string {
  return [
    `Temporal    ${report.temporal.address}  server ${report.temporal.serverVersion}  namespace ${report.temporal.namespace}`,
    `PostgreSQL  ${report.postgres.target}  ${report.postgres.version}`,
    `pgvector    ${report.pgvector.version}${report.pgvector.createdNow ? '  (extension created now)' : ''}`,
    `Worker      ${report.worker === 'embedded' ? 'embedded in this process (no worker was polling)' : `external, polling ${TASK_QUEUE}`}`,
    `Workflow    ${report.workflowId}`,
    `Watch it    ${report.workflowUrl}`,
    '✓ Everything needed for a migration is reachable.',
  ].join('\n');
}
