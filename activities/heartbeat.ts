import { Context } from '@temporalio/activity';

/**
 * Heartbeats while a long single statement (an index build, a batch's COPY) runs: every 5 seconds,
 * or a third of the heartbeat timeout when that is shorter, so a live worker is never timed out
 * and a dead one is noticed within the timeout.
 */
export async function withHeartbeat<T>(details: () => unknown, body: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details());
  const timeout = ctx.info.heartbeatTimeoutMs;
  const every = timeout ? Math.max(200, Math.min(5_000, Math.floor(timeout / 3))) : 5_000;
  const timer = setInterval(() => ctx.heartbeat(details()), every);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
