import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { SourceError } from '../source/errors';
import type { CollectionName } from '../source/records';
import { admitRecord } from './admit';
import { BinaryCopyEncoder, type CopyType } from './copy/binaryEncoder';
import { TargetError, classifyPgError, type RecordError } from './errors';
import { quoteIdent } from './identifiers';
import type { AnyRecord, TableSpec } from './layouts/types';
import { mappingFor, markerTable, rejectTable, stagingTable, tableSpec, type TargetPlan } from './plan';

export interface BatchInput {
  collection: CollectionName;
  /** position of the batch in its collection's plan (the exactly-once key with the collection) */
  batchIndex: number;
  /** the records of this batch; an async iterable is consumed while the COPY streams */
  records: Iterable<AnyRecord> | AsyncIterable<AnyRecord>;
  /** "now" for LightRAG's create/update times (Unix ms); fixed by the caller for replays if it wants */
  now?: number;
}

export interface BatchResult {
  status: 'loaded' | 'already-loaded';
  /** rows written to staging by this batch (also when it was loaded earlier) */
  rows: number;
  /** records not loaded, each naming collection + id + reason */
  rejected: RecordError[];
}

/** Bytes gathered before a chunk is handed to the COPY stream. */
const CHUNK_BYTES = 1 << 20;
/**
 * The first chunk of a batch goes out sooner, so the server starts while the rest is encoded.
 * Every chunk sent before the last is at least this big, which is ≥ the 16 kB (node 20) / 64 kB
 * (node 22) stream high-water marks: CopySink relies on that.
 */
const FIRST_CHUNK_BYTES = 1 << 16;
/** Encoder buffers: a chunk plus room for the row that crosses the threshold (larger rows grow it). */
const BUFFER_BYTES = CHUNK_BYTES + (1 << 18);
/** Free encoder buffers kept between batches (2 per batch in flight): no 1 MB allocation, page faults and GC per chunk. */
const MAX_SPARE_BUFFERS = 8;
const spareBuffers: Buffer[] = [];
const acquireBuffer = (): Buffer => spareBuffers.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
const releaseBuffer = (b: Buffer): void => {
  if (spareBuffers.length < MAX_SPARE_BUFFERS && b.length <= 4 * BUFFER_BYTES) spareBuffers.push(b);
};

/**
 * Writes chunks into a pg-copy-streams COPY stream with back-pressure, knowing when a written
 * chunk's buffer is free again: a chunk of ≥ 16 kB always fills the stream's (and the socket's)
 * high-water mark, so once the stream has drained every byte written so far is in the kernel.
 * Server errors are kept (an 'error' listener is always attached) and rethrown at the next wait.
 */
class CopySink {
  private error: unknown;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(readonly stream: Writable) {
    const wake = () => {
      const w = this.wake;
      this.wake = undefined;
      w?.();
    };
    stream.on('error', (error: unknown) => {
      this.error ??= error;
      wake();
    });
    stream.on('close', () => {
      this.closed = true;
      wake();
    });
    stream.on('drain', wake);
  }

  get failed(): boolean {
    return this.error !== undefined;
  }

  /** Resolves once everything written so far has left for the socket (its buffers may be reused). */
  async drained(): Promise<void> {
    for (;;) {
      if (this.error !== undefined) throw this.error;
      if (!this.stream.writableNeedDrain) return;
      if (this.closed) throw new Error('the COPY stream closed before the data was sent');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  write(chunk: Buffer): void {
    this.stream.write(chunk);
  }

  /** Sends the last chunk and CopyDone; resolves when the server has accepted the COPY. */
  async end(chunk: Buffer): Promise<void> {
    if (this.error !== undefined) throw this.error;
    this.stream.end(chunk);
    await finished(this.stream);
  }

  /**
   * Aborts the COPY: CopyFail, then waits for the server's answer so the connection is free for
   * the ROLLBACK. When the server (or the connection) already failed it there is nothing to wait
   * for: pg-copy-streams emits that error without closing the stream.
   */
  async abort(error: unknown): Promise<void> {
    if (this.failed || this.closed) return;
    if (!this.stream.destroyed) this.stream.destroy(error instanceof Error ? error : new Error(String(error)));
    await finished(this.stream).catch(() => undefined);
  }
}

export function copyTypes(spec: TableSpec): CopyType[] {
  return spec.copyColumns.map((name) => spec.columns.find((c) => c.name === name)!.copyType!);
}

export function copySql(plan: TargetPlan, spec: TableSpec): string {
  return `COPY ${stagingTable(plan, spec.name)} (${spec.copyColumns.map(quoteIdent).join(', ')}) FROM STDIN (FORMAT binary)`;
}

/**
 * Loads one batch into staging, exactly once in effect: in ONE transaction it first claims the
 * batch marker (migration, collection, batch index) — a replay finds the marker and changes
 * nothing; a concurrent duplicate waits on the marker's key and then sees it — then streams the
 * rows with COPY BINARY (encoding the next chunk while the previous one is sent, with the stream's
 * back-pressure) and records rejected records.
 * A failure anywhere rolls back rows, rejects and marker together.
 */
export async function loadBatch(pool: pg.Pool, plan: TargetPlan, input: BatchInput): Promise<BatchResult> {
  const mapping = mappingFor(plan, input.collection);
  const spec = tableSpec(plan, mapping.table);
  const client = await pool.connect();
  // A connection lost mid-batch is also emitted on the checked-out client: without a listener that
  // would crash the process; the failing query reports it, and the client is discarded on release.
  let lost: Error | undefined;
  const onLost = (error: Error) => void (lost ??= error);
  client.on('error', onLost);
  let inTx = false;
  try {
    // BEGIN and the marker claim in one round trip (simple protocol, so the key is inlined as
    // escaped literals): with the COPY and "UPDATE marker; COMMIT" a batch costs three round
    // trips, like a bare BEGIN / COPY / COMMIT.
    if (!Number.isSafeInteger(input.batchIndex))
      throw new TargetError(`Batch index ${String(input.batchIndex)} is not an integer.`);
    const key = `${client.escapeLiteral(plan.options.migrationId)}, ${client.escapeLiteral(input.collection)}, ${input.batchIndex}`;
    inTx = true;
    const claim = (await client.query(
      `BEGIN; INSERT INTO ${markerTable(plan)} (migration_id, collection, batch_index) VALUES (${key}) ON CONFLICT DO NOTHING RETURNING 1`,
    )) as unknown as pg.QueryResult[];
    if (claim[1]!.rowCount === 0) {
      await client.query('ROLLBACK');
      inTx = false;
      return await batchOutcome(client, plan, input.collection, input.batchIndex);
    }

    const now = input.now ?? Date.now();
    const rejected: RecordError[] = [];
    const seen = new Set<string>();
    const records = input.records;
    // Double buffering: rows are encoded into one buffer while the previous chunk (the other
    // buffer) is being sent; a buffer is reused only after the stream has drained it.
    let spare = acquireBuffer();
    const encoder = new BinaryCopyEncoder(copyTypes(spec), acquireBuffer());
    encoder.writeHeader();
    let threshold = FIRST_CHUNK_BYTES;
    const sink = new CopySink(client.query(copyFrom(copySql(plan, spec))));

    /** Maps and encodes one record (or records why not); true when a chunk is ready to send. */
    const add = (record: AnyRecord): boolean => {
      const admitted = admitRecord(mapping, spec.copyColumns, record, now, seen, encoder);
      if (!admitted.ok) {
        rejected.push({
          collection: input.collection,
          id: admitted.id,
          batchIndex: input.batchIndex,
          reason: admitted.reason,
        });
        return false;
      }
      return encoder.length >= threshold;
    };
    const send = async (): Promise<void> => {
      await sink.drained(); // the chunk in `spare` has been sent: its buffer is free
      const full = encoder.buffer;
      sink.write(encoder.take(spare));
      spare = full;
      threshold = CHUNK_BYTES;
    };
    try {
      if (Symbol.asyncIterator in records) {
        for await (const record of records) if (add(record)) await send();
      } else {
        for (const record of records) if (add(record)) await send();
      }
      encoder.writeTrailer();
      const last = encoder.buffer;
      await sink.end(encoder.take(spare));
      // the COPY is complete: the server has every byte, both buffers are free
      releaseBuffer(last);
      releaseBuffer(spare);
    } catch (error) {
      await sink.abort(error);
      throw error;
    }
    if (rejected.length > 0) {
      await client.query(
        `INSERT INTO ${rejectTable(plan)} (collection, batch_index, id, reason) SELECT $1, $2, * FROM unnest($3::text[], $4::text[])`,
        [input.collection, input.batchIndex, rejected.map((r) => r.id), rejected.map((r) => r.reason)],
      );
    }
    await client.query(
      `UPDATE ${markerTable(plan)} SET rows = ${encoder.rows}, rejected = ${rejected.length}, committed_at = now() WHERE (migration_id, collection, batch_index) = (${key}); COMMIT`,
    );
    inTx = false;
    return { status: 'loaded', rows: encoder.rows, rejected };
  } catch (error) {
    if (inTx) await client.query('ROLLBACK').catch(() => undefined);
    // a record of a lazily read batch that turns out damaged stops the batch as a source error
    if (error instanceof TargetError || error instanceof SourceError) throw error;
    throw classifyPgError(
      error,
      `Loading batch ${input.batchIndex} of ${input.collection} into ${mapping.table}_staging`,
    );
  } finally {
    client.off('error', onLost);
    client.release(lost);
  }
}

async function batchOutcome(
  db: pg.PoolClient | pg.Pool,
  plan: TargetPlan,
  collection: string,
  batchIndex: number,
): Promise<BatchResult> {
  const m = await db.query<{ rows: number }>(
    `SELECT rows FROM ${markerTable(plan)} WHERE migration_id = $1 AND collection = $2 AND batch_index = $3`,
    [plan.options.migrationId, collection, batchIndex],
  );
  const r = await db.query<{ id: string; reason: string }>(
    `SELECT id, reason FROM ${rejectTable(plan)} WHERE collection = $1 AND batch_index = $2`,
    [collection, batchIndex],
  );
  return {
    status: 'already-loaded',
    rows: m.rows[0]?.rows ?? 0,
    rejected: r.rows.map((x) => ({ collection, id: x.id, batchIndex, reason: x.reason })),
  };
}

/** Which batches of a collection are committed (for resuming). */
export async function loadedBatches(
  db: pg.Pool | pg.PoolClient,
  plan: TargetPlan,
  collection: CollectionName,
): Promise<number[]> {
  const { rows } = await db.query<{ batch_index: number }>(
    `SELECT batch_index FROM ${markerTable(plan)} WHERE migration_id = $1 AND collection = $2 ORDER BY 1`,
    [plan.options.migrationId, collection],
  );
  return rows.map((r) => r.batch_index);
}

/** Every record rejected so far (by batches and by the finishing steps). */
export async function listRejects(db: pg.Pool | pg.PoolClient, plan: TargetPlan): Promise<RecordError[]> {
  const { rows } = await db.query<{ collection: string; batch_index: number | null; id: string; reason: string }>(
    `SELECT collection, batch_index, id, reason FROM ${rejectTable(plan)} ORDER BY collection, batch_index, id`,
  );
  return rows.map((r) => ({
    collection: r.collection,
    id: r.id,
    reason: r.reason,
    ...(r.batch_index === null ? {} : { batchIndex: r.batch_index }),
  }));
}
