import { describe, expect, it } from 'vitest';
import { defaultPartitionName, partitionable } from '../../../core/postgres/partitions';
import { describePromotePreview } from '../../../core/postgres/promotePreview';
import { planTarget, promoteNotes } from '../../../core/postgres';

const fmt = (s: number) => `${s}s`;

describe('promote wording and names', () => {
  it('the dry run says attach/swap in one breath, and warns when rows mode holds the tables', () => {
    const quick = describePromotePreview(
      {
        tables: [
          { table: 'a', mode: 'attach', how: '', seconds: 0 },
          { table: 'g', mode: 'swap', how: '', seconds: 0 },
        ],
        seconds: 1,
      },
      fmt,
    );
    expect(quick).toBe(
      "Promote: 1 attached as this workspace's partition, 1 swapped in whole; about 1s in one transaction",
    );
    const slow = describePromotePreview(
      { tables: [{ table: 'lightrag_vdb_entity', mode: 'rows', how: '', seconds: 1000 }], seconds: 1001 },
      fmt,
    );
    expect(slow).toMatch(
      /^Promote: 1 with rows moved \(lightrag_vdb_entity\); about 1001s in one transaction, holding/,
    );
  });

  it('promote notes name every mode, the transaction time and the settings', () => {
    const notes = promoteNotes({
      alreadyPromoted: false,
      transactionMs: 42,
      notes: ['hnsw.iterative_scan set'],
      tables: [
        { table: 'a', mode: 'attach', hadPrevious: false, previousRows: 0, rows: 1, addedColumns: [] },
        { table: 'b', mode: 'rows', hadPrevious: true, previousRows: 0, rows: 1, addedColumns: [] },
      ],
    });
    expect(notes[0]).toMatch(
      /2 tables promoted in one transaction of 42 ms \(1 attached .*, 0 swapped in whole, 1 with/,
    );
    expect(notes[1]).toBe('hnsw.iterative_scan set');
  });

  it('default partitions stay within 63 bytes; graph tables are not partitioned', () => {
    expect(defaultPartitionName('lightrag_vdb_entity')).toBe('lightrag_vdb_entity_default');
    const long = 'lightrag_vdb_chunks_' + 'x'.repeat(40) + '_1536d';
    expect(Buffer.byteLength(defaultPartitionName(long))).toBeLessThanOrEqual(63);
    expect(defaultPartitionName(long)).toMatch(/^[0-9a-f]{12}_default$/);
    const plan = planTarget({ migrationId: 'x', workspace: 'w', dimension: 8 });
    expect(plan.layout.tables.filter((t) => !partitionable(t)).map((t) => t.name)).toEqual([
      'lightrag_graph_nodes',
      'lightrag_graph_edges',
    ]);
  });
});
