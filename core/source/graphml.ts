/**
 * GraphML (graph_chunk_entity_relation.graphml): planning and batch reads.
 *
 * Parsing is done by `saxes` (a maintained streaming XML parser). Planning additionally runs a
 * small byte-level indexer over the same chunks that notes the byte offset where each <node> and
 * <edge> element starts and ends (saxes reports positions in characters, not bytes). `<` cannot
 * occur unescaped inside XML text or attribute values, so the indexer only has to skip comments,
 * CDATA sections and processing instructions. Planning checks that both agree on the counts.
 * A batch reader feeds a fresh saxes parser a synthetic `<graphml><graph>` prefix, the byte slice
 * of its elements, and the closing tags.
 */
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { DuplicateConfirmer, HashCollector, keyHash } from './duplicates';
import { SourceFormatError } from './errors';
import {
  assertUnchanged,
  bufferPool,
  fileIdentity,
  forEachChunk,
  openForRead,
  readRangePooled,
  releasingAfter,
} from './io';
import { BatchBuilder, PLAN_VERSION, type GraphKey, type GraphPlan } from './plan';
import type { GraphEdge, GraphNode, JsonObject } from './records';
import type { LazyBatch } from './vdbReader';
import { Utf8Checker } from './scan';
import { DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCH_BYTES, type PlanOptions } from './planner';

/** saxes builds JS strings per chunk: smaller chunks keep its garbage (and RSS) low */
const GRAPH_CHUNK_SIZE = 1024 * 1024;

/** bytes of a batch slice decoded and parsed at a time */
const GRAPH_PIECE_BYTES = 64 * 1024;

const KEY_TYPES = new Set(['string', 'int', 'long', 'float', 'double', 'boolean']);

type Kind = 'node' | 'edge';

/** Byte offsets of <node>/<edge> elements (start of '<', end after the closing '>'). */
class ElementIndexer {
  private carry: Buffer = Buffer.alloc(0);
  private pos = 0; // absolute offset of the next chunk
  private skipUntil: Buffer | undefined; // inside a comment / CDATA / PI: its terminator
  private open: Kind | undefined;

  constructor(
    private readonly onStart: (kind: Kind, offset: number) => void,
    private readonly onEnd: (kind: Kind, end: number) => void,
  ) {}

  write(chunk: Buffer): void {
    const work = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const base = this.pos - this.carry.length;
    this.pos += chunk.length;
    this.carry = Buffer.alloc(0);
    let i = 0;
    const n = work.length;
    while (i < n) {
      if (this.skipUntil) {
        const t = work.indexOf(this.skipUntil, i);
        if (t < 0) {
          this.carry = Buffer.from(work.subarray(Math.max(i, n - this.skipUntil.length + 1)));
          return;
        }
        i = t + this.skipUntil.length;
        this.skipUntil = undefined;
        continue;
      }
      const lt = work.indexOf(0x3c, i);
      if (lt < 0) return;
      if (n - lt < 10) {
        this.carry = Buffer.from(work.subarray(lt));
        return;
      }
      const b1 = work[lt + 1]!;
      if (b1 === 0x21) {
        // '<!'
        if (work[lt + 2] === 0x2d && work[lt + 3] === 0x2d) this.skipUntil = Buffer.from('-->');
        else if (work.toString('latin1', lt + 2, lt + 9) === '[CDATA[') this.skipUntil = Buffer.from(']]>');
        else this.skipUntil = Buffer.from('>');
        i = lt + 2;
        continue;
      }
      if (b1 === 0x3f) {
        this.skipUntil = Buffer.from('?>');
        i = lt + 2;
        continue;
      }
      const closing = b1 === 0x2f;
      const nameAt = closing ? lt + 2 : lt + 1;
      const name = work.toString('latin1', nameAt, nameAt + 4);
      const after = work[nameAt + 4]!;
      const delim =
        after === 0x20 || after === 0x3e || after === 0x2f || after === 0x0a || after === 0x0d || after === 0x09;
      if ((name !== 'node' && name !== 'edge') || !delim) {
        i = lt + 1;
        continue;
      }
      // find the '>' that ends this tag, outside quoted attribute values
      let j = nameAt + 4;
      let quote = 0;
      for (; j < n; j++) {
        const c = work[j]!;
        if (quote) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) quote = c;
        else if (c === 0x3e) break;
      }
      if (j >= n) {
        this.carry = Buffer.from(work.subarray(lt));
        return;
      }
      const kind = name;
      if (closing) {
        if (this.open === kind) this.onEnd(kind, base + j + 1);
        this.open = undefined;
      } else {
        this.onStart(kind, base + lt);
        if (work[j - 1] === 0x2f) this.onEnd(kind, base + j + 1);
        else this.open = kind;
      }
      i = j + 1;
    }
  }
}

function xmlError(file: string, message: string, line?: number, column?: number): SourceFormatError {
  const at = line !== undefined ? ` at line ${line}, column ${(column ?? 0) + 1}` : '';
  return new SourceFormatError(
    'INVALID_XML',
    `${file} is not valid GraphML${at}: ${message}; the file is damaged — restore it from a backup or let LightRAG rewrite it.`,
    { file },
  );
}

export interface GraphPlans {
  nodes: GraphPlan;
  edges: GraphPlan;
}

export async function planGraphml(file: string, opts: PlanOptions = {}): Promise<GraphPlans> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const fh = await openForRead(file);
  try {
    const id = await fileIdentity(fh);
    if (id.size === 0) {
      throw new SourceFormatError('EMPTY_FILE', `${file} is empty; delete it or restore it from a backup.`, {
        file,
        byteOffset: 0,
      });
    }
    const keys: GraphKey[] = [];
    const keyIds = new Map<string, GraphKey>();
    const nodeBatches = new BatchBuilder(batchSize, maxBatchBytes);
    const edgeBatches = new BatchBuilder(batchSize, maxBatchBytes);
    const hashes = new HashCollector();
    let saxNodes = 0;
    let saxEdges = 0;
    const stack: string[] = [];
    let currentKey: GraphKey | undefined;
    let defaultText: string | undefined;
    let sawGraphml = false;
    let nodeIds: ((id: string, index: number) => void) | undefined = (nid) =>
      hashes.add(keyHash(Buffer.from(nid, 'utf8')));

    const parser = new SaxesParser({ xmlns: false, fileName: file });
    parser.on('error', (err) => {
      throw xmlError(file, err.message.replace(/^.*?:\d+:\d+: /, ''), parser.line, parser.column);
    });
    parser.on('opentag', (tag: SaxesTagPlain) => {
      const parent = stack[stack.length - 1];
      const name = tag.name;
      const attr = tag.attributes as Record<string, string>;
      stack.push(name);
      if (stack.length === 1) {
        if (name !== 'graphml')
          throw xmlError(file, `the root element is <${name}>, not <graphml>`, parser.line, parser.column);
        sawGraphml = true;
      } else if (name === 'key' && parent === 'graphml') {
        const type = (attr['attr.type'] ?? 'string').toLowerCase();
        if (attr.id === undefined || !KEY_TYPES.has(type)) {
          throw xmlError(
            file,
            `a <key> has ${attr.id === undefined ? 'no id' : `the unsupported attr.type "${type}"`}`,
            parser.line,
            parser.column,
          );
        }
        currentKey = {
          id: attr.id,
          for: attr.for ?? 'all',
          name: attr['attr.name'] ?? attr.id,
          type: type as GraphKey['type'],
        };
        keys.push(currentKey);
        keyIds.set(currentKey.id, currentKey);
      } else if (name === 'default' && parent === 'key') {
        defaultText = '';
      } else if (name === 'graph' && stack.length > 2) {
        throw new SourceFormatError(
          'UNSUPPORTED_STRUCTURE',
          `${file} has a nested <graph> (line ${parser.line}), which LightRAG never writes; check that it is the right file.`,
          { file },
        );
      } else if (name === 'node' && parent === 'graph') {
        if (attr.id === undefined) throw xmlError(file, 'a <node> has no id', parser.line, parser.column);
        nodeIds?.(attr.id, saxNodes);
        saxNodes++;
      } else if (name === 'edge' && parent === 'graph') {
        if (attr.source === undefined || attr.target === undefined)
          throw xmlError(file, 'an <edge> lacks source or target', parser.line, parser.column);
        saxEdges++;
      } else if (name === 'data') {
        const k = attr.key;
        if (k === undefined || !keyIds.has(k)) {
          throw new SourceFormatError(
            'UNKNOWN_GRAPHML_KEY',
            `${file} uses the attribute key ${JSON.stringify(k ?? '')} (line ${parser.line}) that no <key> element defines, so its type and name are unknown; the file is damaged — restore it from a backup.`,
            { file, recordIndex: parent === 'edge' ? saxEdges - 1 : saxNodes - 1 },
          );
        }
      } else if (name === 'hyperedge') {
        throw new SourceFormatError(
          'UNSUPPORTED_STRUCTURE',
          `${file} has a <hyperedge> (line ${parser.line}), which LightRAG never writes; check that it is the right file.`,
          { file },
        );
      }
    });
    parser.on('text', (t) => {
      if (defaultText !== undefined) defaultText += t;
    });
    parser.on('cdata', (t) => {
      if (defaultText !== undefined) defaultText += t;
    });
    parser.on('closetag', (tag) => {
      stack.pop();
      if (tag.name === 'default' && currentKey && defaultText !== undefined) {
        currentKey.default = defaultText;
        defaultText = undefined;
      } else if (tag.name === 'key') currentKey = undefined;
    });

    const indexer = new ElementIndexer(
      (kind, offset) => (kind === 'node' ? nodeBatches : edgeBatches).begin(offset),
      (kind, end) => (kind === 'node' ? nodeBatches : edgeBatches).end(end),
    );
    const utf8 = new Utf8Checker(file);
    const decoder = new StringDecoder('utf8');
    await forEachChunk(
      fh,
      0,
      id.size,
      (chunk) => {
        utf8.write(chunk);
        indexer.write(chunk);
        parser.write(decoder.write(chunk));
      },
      opts.chunkSize ?? GRAPH_CHUNK_SIZE,
    );
    utf8.finish();
    parser.write(decoder.end());
    parser.close();
    if (!sawGraphml) throw xmlError(file, 'there is no <graphml> element');
    nodeBatches.close();
    edgeBatches.close();
    if (nodeBatches.count !== saxNodes || edgeBatches.count !== saxEdges) {
      throw xmlError(
        file,
        `could not index its elements (${saxNodes} nodes / ${saxEdges} edges parsed, ${nodeBatches.count} / ${edgeBatches.count} located)`,
      );
    }

    const candidates = hashes.candidates();
    if (candidates.size > 0) {
      // confirm with a second parse that only looks at node ids
      const confirm = new DuplicateConfirmer(candidates);
      const p2 = new SaxesParser({ xmlns: false });
      let idx = 0;
      p2.on('opentag', (tag: SaxesTagPlain) => {
        if (tag.name !== 'node') return;
        const nid = (tag.attributes as Record<string, string>).id ?? '';
        const dup = confirm.check(keyHash(Buffer.from(nid, 'utf8')), Buffer.from(nid, 'utf8'), idx++);
        if (dup) {
          throw new SourceFormatError(
            'DUPLICATE_KEY',
            `${file}: the node id ${JSON.stringify(dup.key)} appears twice (nodes ${dup.first} and ${dup.second}); networkx would merge them — remove the duplicate or restore the file from a backup.`,
            {
              file,
              recordIndex: dup.second,
            },
          );
        }
      });
      const d2 = new StringDecoder('utf8');
      await forEachChunk(fh, 0, id.size, (chunk) => p2.write(d2.write(chunk)), GRAPH_CHUNK_SIZE);
      p2.close();
    }
    nodeIds = undefined;

    const common = {
      version: PLAN_VERSION,
      kind: 'graph' as const,
      file,
      size: id.size,
      mtimeMs: id.mtimeMs,
      fingerprint: id.fingerprint,
      batchSize,
      maxBatchBytes: Number.isFinite(maxBatchBytes) ? maxBatchBytes : null,
      keys,
    };
    return {
      nodes: { ...common, collection: 'graph_nodes', recordCount: nodeBatches.count, batches: nodeBatches.batches },
      edges: { ...common, collection: 'graph_edges', recordCount: edgeBatches.count, batches: edgeBatches.batches },
    };
  } finally {
    await fh.close();
  }
}

function convert(file: string, key: GraphKey, text: string, index: number): unknown {
  switch (key.type) {
    case 'string':
      return text;
    case 'int':
    case 'long':
    case 'float':
    case 'double': {
      const t = text.trim();
      const v = Number(t);
      const ok =
        t !== '' &&
        (key.type === 'int' || key.type === 'long' ? /^[+-]?\d+$/.test(t) : !Number.isNaN(v) || /^[+-]?nan$/i.test(t));
      if (!ok) {
        throw new SourceFormatError(
          'INVALID_XML',
          `${file}: the ${key.type} attribute "${key.name}" of element ${index} has the value ${JSON.stringify(t.slice(0, 50))}, which is not a number; restore the file from a backup.`,
          {
            file,
            recordIndex: index,
          },
        );
      }
      return v;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0' || t === '') return false;
      throw new SourceFormatError(
        'INVALID_XML',
        `${file}: the boolean attribute "${key.name}" of element ${index} has the value ${JSON.stringify(text.slice(0, 50))}; restore the file from a backup.`,
        { file, recordIndex: index },
      );
    }
  }
}

export async function readGraphNodeBatch(plan: GraphPlan, batchIndex: number): Promise<GraphNode[]> {
  return (await readGraphBatch(plan, batchIndex)) as GraphNode[];
}

export async function readGraphEdgeBatch(plan: GraphPlan, batchIndex: number): Promise<GraphEdge[]> {
  return (await readGraphBatch(plan, batchIndex)) as GraphEdge[];
}

export async function readGraphBatch(plan: GraphPlan, batchIndex: number): Promise<GraphNode[] | GraphEdge[]> {
  return [...(await openGraphBatch(plan, batchIndex)).records] as GraphNode[] | GraphEdge[];
}

/**
 * The batch parsed as it is iterated, a 64 kB piece of the slice at a time (see LazyBatch): the
 * loader then holds ~150 parsed elements instead of the batch's 1,000, which outlived V8's young
 * generation. A count that differs from the plan's fails the batch at its end.
 */
export async function openGraphBatch(plan: GraphPlan, batchIndex: number): Promise<LazyBatch<GraphNode | GraphEdge>> {
  const batch = plan.batches[batchIndex];
  if (!batch) throw new RangeError(`${plan.file} has ${plan.batches.length} batches; there is no batch ${batchIndex}.`);
  const file = plan.file;
  const fh = await openForRead(file);
  let buf: Buffer | undefined;
  try {
    await assertUnchanged(fh, file, plan);
    buf = await readRangePooled(fh, batch.startOffset, batch.endOffset);
    const records = releasingAfter(checkedCount(plan, batch, buf), [buf]);
    buf = undefined; // owned by the iterator from here
    return { count: batch.recordCount, records };
  } finally {
    if (buf) bufferPool.release(buf);
    await fh.close();
  }
}

function* checkedCount(
  plan: GraphPlan,
  batch: GraphPlan['batches'][number],
  buf: Buffer,
): Generator<GraphNode | GraphEdge> {
  let count = 0;
  for (const record of graphRecords(plan, buf, batch.firstRecord)) {
    count++;
    yield record;
  }
  if (count !== batch.recordCount) {
    throw new SourceFormatError(
      'INVALID_XML',
      `${plan.file}: the batch at byte ${batch.startOffset} holds ${count} ${plan.collection === 'graph_nodes' ? 'nodes' : 'edges'} where the plan expects ${batch.recordCount}; plan the migration again.`,
      {
        file: plan.file,
        byteOffset: batch.startOffset,
      },
    );
  }
}

/** Parses a slice of <node>/<edge> elements; keeps only the plan's kind. */
export function parseGraphSlice(plan: GraphPlan, buf: Buffer, firstRecord: number): GraphNode[] | GraphEdge[] {
  return [...graphRecords(plan, buf, firstRecord)] as GraphNode[] | GraphEdge[];
}

/** The elements of a slice, yielded as each piece of it is parsed. */
function* graphRecords(plan: GraphPlan, buf: Buffer, firstRecord: number): Generator<GraphNode | GraphEdge> {
  const file = plan.file;
  const want: Kind = plan.collection === 'graph_nodes' ? 'node' : 'edge';
  const keyIds = new Map(plan.keys.map((k) => [k.id, k]));
  const defaults = plan.keys.filter((k) => k.default !== undefined && (k.for === want || k.for === 'all'));
  /** parsed and not yet yielded */
  let ready: Array<GraphNode | GraphEdge> = [];
  let parsed = 0;
  let current: { attributes: JsonObject; id?: string; source?: string; target?: string } | undefined;
  let dataKey: GraphKey | undefined;
  let text = '';
  let depth = 0;
  const index = (): number => firstRecord + parsed;

  const parser = new SaxesParser({ xmlns: false, fileName: file });
  parser.on('error', (err) => {
    throw xmlError(
      file,
      `${err.message.replace(/^.*?:\d+:\d+: /, '')} (in the batch starting at record ${firstRecord})`,
    );
  });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    depth++;
    const attr = tag.attributes as Record<string, string>;
    if (depth === 3 && tag.name === want) {
      current =
        want === 'node'
          ? { id: attr.id ?? '', attributes: {} }
          : { source: attr.source ?? '', target: attr.target ?? '', attributes: {} };
    } else if (depth === 4 && current && tag.name === 'data') {
      dataKey = keyIds.get(attr.key ?? '');
      if (!dataKey) {
        throw new SourceFormatError(
          'UNKNOWN_GRAPHML_KEY',
          `${file} uses the attribute key ${JSON.stringify(attr.key ?? '')} that no <key> element defines (${want} ${index()}); restore the file from a backup.`,
          {
            file,
            recordIndex: index(),
          },
        );
      }
      text = '';
    }
  });
  parser.on('text', (t) => {
    if (dataKey) text += t;
  });
  parser.on('cdata', (t) => {
    if (dataKey) text += t;
  });
  parser.on('closetag', (tag) => {
    if (depth === 4 && dataKey && current && tag.name === 'data') {
      current.attributes[dataKey.name] = convert(file, dataKey, text, index());
      dataKey = undefined;
    } else if (depth === 3 && current && tag.name === want) {
      for (const k of defaults)
        if (!(k.name in current.attributes)) current.attributes[k.name] = convert(file, k, k.default!, index());
      ready.push(
        want === 'node'
          ? { id: current.id!, attributes: current.attributes }
          : { source: current.source!, target: current.target!, attributes: current.attributes },
      );
      parsed++;
      current = undefined;
    }
    depth--;
  });
  const take = (): Array<GraphNode | GraphEdge> => {
    const out = ready;
    ready = [];
    return out;
  };
  parser.write('<graphml><graph>');
  // in pieces: a string over ~128 kB is allocated in V8's old generation and brings full collections on
  const decoder = new StringDecoder('utf8');
  for (let at = 0; at < buf.length; at += GRAPH_PIECE_BYTES) {
    parser.write(decoder.write(buf.subarray(at, Math.min(buf.length, at + GRAPH_PIECE_BYTES))));
    yield* take();
  }
  parser.write(decoder.end());
  parser.write('</graph></graphml>');
  parser.close();
  yield* take();
}
