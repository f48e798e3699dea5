/**
 * loadBatch's streaming path with batches of many chunks: rows are encoded into one buffer while
 * the previous chunk (the other buffer) is being sent, and buffers are reused across chunks and
 * batches. Small batches (the fixture tests) never leave the first chunk, so these use batches of
 * several MB. Needs the PostgreSQL of the vitest global setup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorRecord } from '../../../core/source/records';
import {
  listRejects,
  loadBatch,
  loadedBatches,
  planTarget,
  prepareStaging,
  stagingTable,
  TargetError,
} from '../../../core/postgres';
import { createScratchDatabase, type ScratchDatabase } from '../../helpers/db';

let db: ScratchDatabase;
beforeAll(async () => {
  db = await createScratchDatabase('target_chunks');
  db.pool.on('error', () => undefined); // a terminated backend (last test) must not crash the run
});
afterAll(async () => {
  await db?.drop();
});

const DIM = 1536;
function records(n: number, from = 0): VectorRecord[] {
  let seed = 99 + from;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const vector = new Float32Array(DIM).map(() => rand());
    vector[i % DIM] = i % 2 ? -0 : 1.4e-45; // bit patterns that text round trips would lose
    return {
      id: `ent-${i}`,
      fields: { entity_name: `E${i}`, content: `entity ${i} ✓`, source_id: `c${i}<SEP>c${i + 1}` },
      vector,
    };
  });
}

async function storedVectors(table: string): Promise<Map<string, Buffer>> {
  const { rows } = await db.pool.query<{ id: string; v: Buffer }>(
    `SELECT id, vector_send(content_vector) AS v FROM ${table}`,
  );
  return new Map(rows.map((r) => [r.id, r.v]));
}

/** vector_send: int16 dim, int16 0, big-endian float4 — compared with the record's float bits. */
function sameBits(sent: Buffer, v: Float32Array): boolean {
  if (sent.readInt16BE(0) !== v.length) return false;
  const le = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  for (let i = 0; i < v.length; i++) if (sent.readUInt32BE(4 + i * 4) !== le.readUInt32LE(i * 4)) return false;
  return true;
}

describe('loadBatch streaming many chunks', () => {
  it('batches of several MB, two at a time, rejects spread over the chunks: every float bit-identical', async () => {
    const plan = planTarget({ migrationId: 'chunks-1', workspace: 'default', dimension: DIM });
    await prepareStaging(db.pool, plan);
    const a = records(1500, 0); // ≈ 9 MB: the 64 kB first chunk, then 1 MB chunks
    const b = records(1200, 10_000);
    for (const at of [5, 700, 1499]) a[at]!.vector = Object.assign(new Float32Array(DIM), { [at % DIM]: Number.NaN });
    b[600] = { ...b[600]!, id: b[599]!.id }; // duplicate in the middle of a chunk
    const [ra, rb] = await Promise.all([
      loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 0, records: a }),
      loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 1, records: b }),
    ]);
    expect(ra.rows).toBe(1497);
    expect(ra.rejected.map((r) => r.id)).toEqual(['ent-5', 'ent-700', 'ent-1499']);
    expect(ra.rejected[1]!.reason).toBe(
      `its vector has NaN at dimension ${700 % DIM}, which pgvector cannot store; re-embed this record in LightRAG`,
    );
    expect(rb.rows).toBe(1199);
    expect(rb.rejected.map((r) => [r.id, r.reason])).toEqual([[b[599]!.id, expect.stringMatching(/duplicate/)]]);

    const stored = await storedVectors(stagingTable(plan, 'lightrag_vdb_entity'));
    expect(stored.size).toBe(1497 + 1199);
    for (const r of [...a, ...b]) {
      if (['ent-5', 'ent-700', 'ent-1499'].includes(r.id)) continue;
      if (r === b[600]) continue;
      expect(sameBits(stored.get(r.id)!, r.vector), r.id).toBe(true);
    }
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${stagingTable(plan, 'lightrag_vdb_entity')} WHERE content LIKE 'entity % ✓' AND chunk_ids[2] LIKE 'c%'`,
    );
    expect(Number(rows[0]!.n)).toBe(1497 + 1199);
    expect(await loadedBatches(db.pool, plan, 'vdb_entities')).toEqual([0, 1]);
    // a replay changes nothing and reports the same
    const again = await loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 0, records: a });
    expect(again).toEqual({ status: 'already-loaded', rows: 1497, rejected: ra.rejected });
  });

  it('an empty batch (header and trailer only) commits its marker with 0 rows', async () => {
    const plan = planTarget({ migrationId: 'chunks-0', workspace: 'default', dimension: DIM });
    await prepareStaging(db.pool, plan);
    expect(await loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 0, records: [] })).toEqual({
      status: 'loaded',
      rows: 0,
      rejected: [],
    });
    expect(await loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 0, records: records(3) })).toEqual({
      status: 'already-loaded',
      rows: 0,
      rejected: [],
    });
  });

  it('a source that fails after several chunks were sent rolls everything back; the retry loads it', async () => {
    const plan = planTarget({ migrationId: 'chunks-2', workspace: 'default', dimension: DIM });
    await prepareStaging(db.pool, plan);
    const recs = records(1500, 20_000);
    async function* failing() {
      for (const [i, r] of recs.entries()) {
        if (i === 1200) throw new Error('disk read failed at record 1200');
        yield r;
      }
    }
    await expect(
      loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 2, records: failing() }),
    ).rejects.toThrow(/disk read failed/);
    expect(await loadedBatches(db.pool, plan, 'vdb_entities')).toEqual([]);
    const before = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${stagingTable(plan, 'lightrag_vdb_entity')}`,
    );
    expect(Number(before.rows[0]!.n)).toBe(0);
    const ok = await loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 2, records: recs });
    expect(ok).toMatchObject({ status: 'loaded', rows: 1500, rejected: [] });
    const stored = await storedVectors(stagingTable(plan, 'lightrag_vdb_entity'));
    for (const r of recs) expect(sameBits(stored.get(r.id)!, r.vector), r.id).toBe(true);
  });

  it('a backend killed mid-COPY is a transient TargetError, nothing is kept, and the retry loads it', async () => {
    const plan = planTarget({ migrationId: 'chunks-3', workspace: 'default', dimension: DIM });
    await prepareStaging(db.pool, plan);
    const recs = records(2000, 30_000);
    async function* killedHalfway() {
      for (const [i, r] of recs.entries()) {
        if (i === 1000) {
          await db.pool.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY %' AND pid <> pg_backend_pid()`,
          );
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        yield r;
      }
    }
    const err = await loadBatch(db.pool, plan, {
      collection: 'vdb_entities',
      batchIndex: 3,
      records: killedHalfway(),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).kind).toBe('transient');
    expect(await loadedBatches(db.pool, plan, 'vdb_entities')).toEqual([]);
    const ok = await loadBatch(db.pool, plan, { collection: 'vdb_entities', batchIndex: 3, records: recs });
    expect(ok).toMatchObject({ status: 'loaded', rows: 2000, rejected: [] });
    expect(await listRejects(db.pool, plan)).toEqual([]);
  });
});
