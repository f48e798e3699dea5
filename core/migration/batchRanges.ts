/**
 * How many consecutive batches one load activity takes. Pure (the collection workflow calls it).
 *
 * Temporal's cost is per activity: its events on the server, a workflow task in the collection
 * workflow, a progress signal and a workflow task in the parent. Measured on 2 cores with one batch
 * per activity, the Temporal dev server used as much CPU as PostgreSQL during staging. A range of
 * about RANGE_BYTES of source (a second or two of work) makes that cost small next to the work; a
 * pause or cancel still takes effect within one range. All collections load at once, so a small
 * collection in one range does not leave activity slots idle.
 */
export const RANGE_BYTES = 64 << 20;
export const MAX_BATCHES_PER_RANGE = 64;

export function batchesPerActivity(collection: { bytes: number; batches: number }, override?: number): number {
  if (override !== undefined) return Math.max(1, Math.floor(override));
  if (collection.batches <= 0) return 1;
  const bytesPerBatch = Math.max(1, collection.bytes / collection.batches);
  return Math.min(MAX_BATCHES_PER_RANGE, Math.max(1, Math.floor(RANGE_BYTES / bytesPerBatch)));
}
