import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time by component (worker, CLI, PostgreSQL, Temporal server, other) from /proc, sampled once
 * a second, so the bench can say where the machine's cores went during a phase. Linux only.
 */
export type Component = 'worker' | 'cli' | 'postgres' | 'temporal' | 'other';
const TICK_MS = 1000 / 100; // USER_HZ

export class CpuSampler {
  private readonly last = new Map<string, number>();
  private readonly groupOf = new Map<string, Component | null>();
  /** per second: wall time and CPU ms per component in the second before it */
  readonly samples: { at: number; ms: Record<Component, number> }[] = [];
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param database when set, PostgreSQL backends of other databases (their command line names the
   * database) count as 'other': someone else's tests on the same server are not this run's work.
   * Background processes and parallel workers (no database in their title) stay 'postgres'.
   */
  constructor(
    private readonly pids: { worker?: number; cli?: number },
    private readonly database?: string,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  setPid(name: 'worker' | 'cli', pid: number | undefined): void {
    this.pids[name] = pid;
    // a sample taken since the process started has filed it under 'other': file it again
    for (const key of this.groupOf.keys()) if (key.startsWith(`${pid}:`)) this.groupOf.delete(key);
  }

  /** CPU seconds per component between two wall-clock times (ms since the epoch). */
  between(from: number, to: number): Record<Component, number> {
    const sum: Record<Component, number> = { worker: 0, cli: 0, postgres: 0, temporal: 0, other: 0 };
    for (const s of this.samples) {
      if (s.at <= from || s.at > to + 1000) continue;
      for (const k of Object.keys(sum) as Component[]) sum[k] += s.ms[k] / 1000;
    }
    return sum;
  }

  private classify(pid: string): Component | null {
    if (Number(pid) === this.pids.worker) return 'worker';
    if (Number(pid) === this.pids.cli) return 'cli';
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
    } catch {
      return null;
    }
    if (/^postgres|postgresql\/\d+\/bin\/postgres/.test(cmd)) {
      // a backend of another database on the same server (someone else's tests) is not this run's
      const backend = /^postgres: \S+ (\S+) /.exec(cmd);
      return backend && this.database && backend[1] !== this.database ? 'other' : 'postgres';
    }
    if (/temporal.*server start-dev/.test(cmd)) return 'temporal';
    return cmd ? 'other' : null;
  }

  private sample(): void {
    const ms: Record<Component, number> = { worker: 0, cli: 0, postgres: 0, temporal: 0, other: 0 };
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let fields: string[];
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
        fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      } catch {
        continue;
      }
      const ticks = Number(fields[11]) + Number(fields[12]);
      const key = `${pid}:${fields[19]}`; // pid + start time: a reused pid is another process
      if (!this.groupOf.has(key)) this.groupOf.set(key, this.classify(pid));
      const group = this.groupOf.get(key);
      // a process that appeared since the last sample used all its CPU time since then
      const before = this.last.get(key) ?? (this.samples.length > 0 ? 0 : undefined);
      this.last.set(key, ticks);
      if (group && before !== undefined) ms[group] += (ticks - before) * TICK_MS;
    }
    this.samples.push({ at: Date.now(), ms });
  }
}
