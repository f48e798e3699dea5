import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { parseConnectionString } from '../../core/connection';
import { CredentialStore } from '../../core/credentials';
import type { doctorWorkflow } from '../../workflows/doctor';
import { failureMessage } from '../../client/failures';
import { connectTestTemporal, historyText, type TestTemporal } from '../helpers/temporal';

let temporal: TestTemporal;
const credentials = new CredentialStore({});

beforeAll(async () => {
  temporal = await connectTestTemporal(credentials);
});
afterAll(async () => {
  await temporal.close();
});

describe('doctorWorkflow on a real Temporal server', () => {
  it('runs its activity through the worker and returns the database versions', async () => {
    const { target, password } = parseConnectionString(inject('databaseUrl'));
    credentials.remember(target, password!);
    const result = await temporal.client.workflow.execute<typeof doctorWorkflow>('doctorWorkflow', {
      taskQueue: temporal.taskQueue,
      workflowId: `test-doctor-${temporal.taskQueue}`,
      args: [{ target }],
    });
    expect(result.database.postgresVersion).toMatch(/^\d+\.\d+/);
    expect(result.database.pgvectorVersion).toMatch(/^0\.(8|9)|^[1-9]/);
  });

  it('keeps the password out of the workflow history', async () => {
    const { target, password } = parseConnectionString(inject('databaseUrl'));
    credentials.remember(target, password!);
    const workflowId = `test-doctor-history-${temporal.taskQueue}`;
    await temporal.client.workflow.execute<typeof doctorWorkflow>('doctorWorkflow', {
      taskQueue: temporal.taskQueue,
      workflowId,
      args: [{ target }],
    });
    const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const text = historyText(history);
    expect(text).toContain(target.host); // the history really holds the input …
    expect(text).not.toContain(password!); // … but never the secret
  });

  it('fails fast with the activity message intact when the password is wrong', async () => {
    const { target } = parseConnectionString(inject('databaseUrl'));
    const wrongUser = { ...target, user: 'no_such_role_for_doctor' };
    credentials.remember(wrongUser, 'nope');
    const error = await temporal.client.workflow
      .execute<typeof doctorWorkflow>('doctorWorkflow', {
        taskQueue: temporal.taskQueue,
        workflowId: `test-doctor-fail-${temporal.taskQueue}`,
        args: [{ target: wrongUser }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(failureMessage(error)).toMatch(/rejected the login of user "no_such_role_for_doctor"/);
    // non-retryable: the one attempt is the last (a retryable failure would be tried 3 times)
    const history = await temporal.client.workflow.getHandle(`test-doctor-fail-${temporal.taskQueue}`).fetchHistory();
    const attempts = (history.events ?? []).flatMap((event) =>
      event.activityTaskStartedEventAttributes ? [event.activityTaskStartedEventAttributes.attempt] : [],
    );
    expect(attempts).toEqual([1]);
  });
});
