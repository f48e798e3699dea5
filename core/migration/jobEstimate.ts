import type { PhaseEstimate } from './estimate';

/** The parts of a job in the order they run; each has its own estimate in PhaseEstimate. */
export const SEGMENTS = ['backup', 'planning', 'staging', 'indexBuild', 'verify', 'promote'] as const;
export type Segment = (typeof SEGMENTS)[number];

export interface SegmentTiming {
  segment: Segment;
  startedAt: number;
  endedAt: number | null;
}

/** seconds a promote is counted as before it has run (it is one transaction; not estimated by the dry run) */
const PROMOTE_SECONDS = 2;

function estimated(estimate: PhaseEstimate, segment: Segment): number {
  return segment === 'promote' ? PROMOTE_SECONDS : estimate[segment];
}

/**
 * Seconds left for the whole job: the segment running now from its own measured rate when it has
 * one (`currentLeft`), otherwise from its estimate less the time it has run; the segments still
 * to come from the dry run's estimates, scaled by how much faster or slower than estimated the
 * segments of this run that have finished were (this machine, this store).
 */
export function jobRemainingSeconds(
  estimate: PhaseEstimate,
  timings: SegmentTiming[],
  currentLeft: number | null,
  now: number,
): number {
  let actual = 0;
  let expected = 0;
  for (const t of timings) {
    if (t.endedAt === null || estimated(estimate, t.segment) < 1) continue;
    actual += (t.endedAt - t.startedAt) / 1000;
    expected += estimated(estimate, t.segment);
  }
  const factor = expected > 0 ? Math.min(8, Math.max(0.25, actual / expected)) : 1;
  const current = timings.find((t) => t.endedAt === null);
  const started = new Set(timings.map((t) => t.segment));
  let left = 0;
  if (current) {
    const ran = (now - current.startedAt) / 1000;
    left += currentLeft ?? Math.max(1, estimated(estimate, current.segment) * factor - ran);
  }
  const from = current ? SEGMENTS.indexOf(current.segment) + 1 : 0;
  for (const segment of SEGMENTS.slice(from)) {
    if (!started.has(segment)) left += estimated(estimate, segment) * factor;
  }
  return Math.ceil(left);
}
