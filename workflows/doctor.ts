import { proxyActivities } from '@temporalio/workflow';
import type { DoctorActivities } from '../activities/doctor';
import type { DatabaseTarget } from '../core/connection';
import type { DatabaseReport } from '../core/database/inspect';

export interface DoctorInput {
  target: DatabaseTarget;
}

export interface DoctorResult {
  database: DatabaseReport;
}

const { inspectTarget } = proxyActivities<DoctorActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});

/** The walking skeleton: one activity through the worker to PostgreSQL and back. */
export async function doctorWorkflow(input: DoctorInput): Promise<DoctorResult> {
  return { database: await inspectTarget(input.target) };
}
