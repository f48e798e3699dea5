import type { EventEmitter } from 'node:events';

/**
 * The first failure of a streaming job, and a way to wait for an event (e.g. 'drain') that also
 * wakes up when the job fails. Unlike racing against a never-settling promise, waiting leaves no
 * reaction behind, so memory stays flat over millions of waits.
 */
export class Tripwire {
  error: unknown;
  tripped = false;
  readonly #waiters = new Set<(error: unknown) => void>();

  trip(error: unknown): void {
    if (this.tripped) return;
    this.tripped = true;
    this.error = error;
    for (const waiter of [...this.#waiters]) waiter(error);
  }

  /** Throws the failure, if any. */
  check(): void {
    if (this.tripped) throw this.error;
  }

  wait(emitter: Pick<EventEmitter, 'once' | 'off'>, event: string): Promise<void> {
    if (this.tripped) return Promise.reject(this.error);
    return new Promise<void>((resolve, reject) => {
      const onEvent = () => {
        this.#waiters.delete(onFail);
        resolve();
      };
      const onFail = (error: unknown) => {
        emitter.off(event, onEvent);
        this.#waiters.delete(onFail);
        reject(error);
      };
      emitter.once(event, onEvent);
      this.#waiters.add(onFail);
    });
  }
}
