/**
 * How many consecutive batches one load activity takes. Pure (the collection workflow calls it).
 *
 * Temporal's cost is per activity: its events on the server, a workflow task in the collection
 * workflow, a progress signal and a workflow task in the parent. Measured on 2 cores with one batch
 * per activity, the Temporal server used as much CPU as PostgreSQL during staging. Ranges of about
 * RANGE_BYTES of source make that cost small next to the work, while a collection still gets at
 * least `parallelism` ranges (so its batches in flight stay busy) and a pause or cancel still takes
 * effect within one range (about a second of work).
 */
export const RANGE_BYTES = 64 << 20;
export const MAX_BATCHES_PER_RANGE = 64;

export function batchesPerActivity(collection: { bytes: number; batches: number }, parallelism: number, override?: number): number {
  if (override !== undefined) return Math.max(1, Math.floor(override));
  if (collection.batches <= 0) return 1;
  const bytesPerBatch = Math.max(1, collection.bytes / collection.batches);
  const byBytes = Math.max(1, Math.floor(RANGE_BYTES / bytesPerBatch));
  const spread = Math.max(1, Math.ceil(collection.batches / Math.max(1, parallelism)));
  return Math.min(byBytes, spread, MAX_BATCHES_PER_RANGE);
}
