import type { WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { CredentialStore } from '../../core/credentials';
import { temporalSettings, workflowUiLink } from '../../core/config';
import { readState, type MigrationState } from '../../core/state/stateFile';
import type { MigrationProgress } from '../../core/migration/types';
import { cancelSignal, pauseSignal, progressQuery, resumeSignal } from '../../workflows/control';
import { resolveDatabase } from '../database';
import { UserError } from '../errors';
import { openPromoted, openResultText, type OpenResult } from '../openResult';
import { postgresWorkOf, postgresWorkLines, type PostgresWork } from '../postgresWork';
import { jobTime, phaseLines, progressLine, stepLine } from '../progress';
import { connectTemporal } from '../temporal';
import type { CommandIo } from './io';

export interface StatusReport {
  database: string;
  path: string;
  state: MigrationState | null;
  workflow: { id: string; status: string; url: string } | null;
  progress: MigrationProgress | null;
  /** the job's PostgreSQL backends at work (null when PostgreSQL could not be asked) */
  postgres: PostgresWork[] | null;
  /** why PostgreSQL could not be asked (no password on this machine, server down) */
  postgresUnavailable: string | null;
  /** after a promote: how to open the workspace in LightRAG, and the registry entry */
  open: OpenResult | null;
}

async function stateOf(name: string | undefined, dir: string | undefined) {
  const db = await resolveDatabase(name, dir);
  const state = await readState(db.path).catch((error: Error) => {
    throw new UserError(error.message);
  });
  return { db, state };
}

/** `hybridrag backend status <name>`: phase, progress, job id and the Temporal UI link. */
export async function statusCommand(
  name: string | undefined,
  dir: string | undefined,
  json: boolean,
  io: CommandIo,
): Promise<StatusReport> {
  const { db, state } = await stateOf(name, dir);
  const report: StatusReport = {
    database: db.name,
    path: db.path,
    state: state ?? null,
    workflow: null,
    progress: null,
    postgres: null,
    postgresUnavailable: null,
    open: null,
  };
  let described: WorkflowExecutionDescription | undefined;
  if (state?.workflow_id) {
    const settings = temporalSettings(process.env);
    const session = await connectTemporal(settings);
    try {
      const handle = session.client.workflow.getHandle(state.workflow_id);
      described = await handle.describe().catch(() => undefined);
      if (described) {
        report.workflow = {
          id: state.workflow_id,
          status: described.status.name,
          url: workflowUiLink(settings, state.workflow_id),
        };
        if (described.status.name === 'RUNNING') report.progress = await handle.query(progressQuery).catch(() => null);
      }
    } finally {
      await session.close();
    }
  }
  if (state) {
    try {
      report.postgres = (await postgresWorkOf(state, described, new CredentialStore())) ?? null;
    } catch (error) {
      report.postgresUnavailable = (error as Error).message;
    }
  }
  report.open = await openPromoted(db);
  if (!json) {
    io.out(`Database:  ${db.name} (${db.path})\n`);
    if (!state) {
      io.out('Migration: none yet (no .migration_state.json)\n');
      return report;
    }
    io.out(`Job:       ${state.job_id}${state.mode ? ` (${state.mode})` : ''}\n`);
    io.out(
      `Phase:     ${report.progress?.phase ?? state.phase}${report.progress ? ` — ${report.progress.step}` : ''}\n`,
    );
    if (state.backup_id) io.out(`Backup:    ${state.backup_id}\n`);
    io.out(`Updated:   ${state.updated_at}\n`);
    if (report.workflow) io.out(`Workflow:  ${report.workflow.status} · ${report.workflow.url}\n`);
    if (report.progress) io.out(progressText(report.progress));
    for (const line of postgresWorkLines(report.postgres ?? [])) io.out(`${line}\n`);
    if (report.postgresUnavailable)
      io.out(`PostgreSQL: not asked about the job's backends: ${report.postgresUnavailable}\n`);
    for (const error of state.errors) io.out(`Error:     ${error}\n`);
    if (report.open) io.out(`\n${openResultText(report.open)}`);
  }
  return report;
}

const SIGNALS = { pause: 'paused', resume: 'resumed', cancel: 'cancelling' } as const;

/** How long `pause` waits for the load activities that had started to finish (each is ~1 s of work). */
const PAUSE_SETTLE_LIMIT_MS = 120_000;

/**
 * Waits until the paused migration has no load activity running (queued ones are cancelled at once,
 * started ones finish); false when that did not happen within the limit.
 */
async function pauseSettled(handle: WorkflowHandle, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const progress = await handle.query(progressQuery).catch(() => undefined);
    if (!progress) return false;
    if (!progress.pausing) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `hybridrag backend pause|resume|cancel <name>`: a signal to the running migration. */
export async function controlCommand(
  action: keyof typeof SIGNALS,
  name: string | undefined,
  dir: string | undefined,
  io: CommandIo,
): Promise<{
  workflowId: string;
  jobId: string;
  action: string;
  state: 'paused' | 'pausing' | 'resumed' | 'cancelling';
}> {
  const { db, state } = await stateOf(name, dir);
  if (!state?.workflow_id) throw new UserError(`No migration of '${db.name}' has been started; nothing to ${action}.`);
  const session = await connectTemporal(temporalSettings(process.env));
  try {
    const handle = session.client.workflow.getHandle(state.workflow_id);
    const described = await handle.describe().catch(() => undefined);
    if (described?.status.name !== 'RUNNING') {
      throw new UserError(
        `The migration of '${db.name}' (job ${state.job_id}) is not running (${described?.status.name.toLowerCase() ?? 'unknown to Temporal'}); nothing to ${action}.`,
      );
    }
    await handle.signal({ pause: pauseSignal, resume: resumeSignal, cancel: cancelSignal }[action]);
    const stillPausing = action === 'pause' && !(await pauseSettled(handle, PAUSE_SETTLE_LIMIT_MS));
    if (stillPausing) {
      io.out(
        `Migration of '${db.name}' (job ${state.job_id}): pausing; what was already running (a batch range, the backup, the index build, the verification) is still finishing, and \`backend status\` shows PAUSED once it has.\n`,
      );
    } else {
      io.out(`Migration of '${db.name}' (job ${state.job_id}): ${SIGNALS[action]}.\n`);
    }
    return {
      workflowId: state.workflow_id,
      jobId: state.job_id,
      action,
      state: stillPausing ? 'pausing' : SIGNALS[action],
    };
  } finally {
    await session.close();
  }
}

/** The job's time, its phases with their durations, staging's rows and the running step, one part per line. */
function progressText(p: MigrationProgress): string {
  const lines = [`Time:      ${jobTime(p)}`, ...phaseLines(p, Date.now()).map((l) => `           ${l}`), 'Progress:'];
  if (p.rowsTotal > 0) lines.push(progressLine(p));
  for (const step of [p.stepProgress, p.alongside]) {
    if (!step) continue;
    lines.push(step === p.alongside ? `   alongside: ${stepLine(step).trim()}` : stepLine(step));
    for (const part of step.parts)
      lines.push(
        `     - ${part.name}: ${part.state}${part.total > 0 ? ` · ${part.done.toLocaleString('en-US')}/${part.total.toLocaleString('en-US')}` : ''}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
