"""Opens a migrated workspace with LightRAG's own PostgreSQL storages (lightrag-hku, pinned by
scripts/lightrag-venv.sh) and prints what it reads back as JSON.

Input (argv[1]): JSON {workspace, dim, doc_ids, chunk_ids, status_ids, node_ids, edges: [[a, b]],
query_vector, top_k[, entity_names]}: entity_names are looked up through the entity vector storage by
LightRAG's own id rule (ent-<md5 of the name>). Every ERROR LightRAG logs is returned as log_errors. Connection: POSTGRES_HOST/PORT/USER/PASSWORD/DATABASE in the environment.
Nothing reaches the network: the embedding function is a local stand-in that must never be called
(the query passes its vector), and the tokenizer is a local whitespace stand-in.
"""
import asyncio
import json
import logging
import os
import sys
import tempfile

import numpy as np

os.environ.pop("POSTGRES_WORKSPACE", None)

from lightrag.kg.postgres_impl import PGDocStatusStorage, PGKVStorage, PGVectorStorage, ClientManager  # noqa: E402
from lightrag.kg.pgtable_impl import PGTableGraphStorage  # noqa: E402
from lightrag.kg.shared_storage import initialize_share_data  # noqa: E402
from lightrag.utils import EmbeddingFunc, compute_mdhash_id  # noqa: E402


class ErrorCollector(logging.Handler):
    """Keeps every ERROR (or worse) record LightRAG logs."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class LocalTokenizer:
    """Stand-in for tiktoken: never downloads an encoding."""

    def encode(self, content):
        return [ord(c) for c in content]

    def decode(self, tokens):
        return "".join(chr(t) for t in tokens)


async def no_network_embedding(texts):
    raise RuntimeError("the probe must not embed text: every query passes its vector")


def jsonable(v):
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


async def main():
    spec = json.loads(open(sys.argv[1]).read())
    errors = ErrorCollector()
    logging.getLogger("lightrag").addHandler(errors)
    ws = spec["workspace"]
    dim = spec["dim"]
    initialize_share_data()
    emb = EmbeddingFunc(embedding_dim=dim, func=no_network_embedding)
    cfg = {
        "working_dir": tempfile.mkdtemp(),
        "embedding_batch_num": 10,
        "vector_db_storage_cls_kwargs": {"cosine_better_than_threshold": -1.0},
        "max_graph_nodes": 1000,
        "vector_storage": "PGVectorStorage",
        "tokenizer": LocalTokenizer(),
    }
    out = {}
    docs = PGKVStorage(namespace="full_docs", workspace=ws, global_config=cfg, embedding_func=emb)
    chunks = PGKVStorage(namespace="text_chunks", workspace=ws, global_config=cfg, embedding_func=emb)
    status = PGDocStatusStorage(namespace="doc_status", workspace=ws, global_config=cfg, embedding_func=emb)
    ents = PGVectorStorage(namespace="entities", workspace=ws, global_config=cfg, embedding_func=emb, meta_fields={"entity_name", "source_id", "content", "file_path"})
    cvdb = PGVectorStorage(namespace="chunks", workspace=ws, global_config=cfg, embedding_func=emb, meta_fields={"full_doc_id", "content", "file_path"})
    graph = PGTableGraphStorage(namespace="chunk_entity_relation", workspace=ws, global_config=cfg, embedding_func=emb)
    storages = [docs, chunks, status, ents, cvdb, graph]
    for s in storages:
        await s.initialize()
    try:
        out["docs"] = jsonable(await docs.get_by_ids(spec["doc_ids"]))
        out["chunks"] = jsonable(await chunks.get_by_ids(spec["chunk_ids"]))
        out["status"] = {i: jsonable(await status.get_by_id(i)) for i in spec["status_ids"]}
        out["status_counts"] = jsonable(await status.get_status_counts())
        out["nodes"] = {n: jsonable(await graph.get_node(n)) for n in spec["node_ids"]}
        out["edges"] = [jsonable(await graph.get_edge(a, b)) for a, b in spec["edges"]]
        out["node_degree"] = {n: await graph.node_degree(n) for n in spec["node_ids"]}
        res = await ents.query("unused", top_k=spec["top_k"], query_embedding=spec["query_vector"])
        out["neighbours"] = [r.get("id") or r.get("__id__") or r.get("entity_name") for r in res]
        out["neighbour_rows"] = jsonable([{k: v for k, v in r.items() if k != "content"} for r in res])
        out["entity_vectors"] = jsonable(await ents.get_vectors_by_ids(spec["node_vector_ids"])) if hasattr(ents, "get_vectors_by_ids") else None
        out["chunk_rows"] = jsonable(await cvdb.get_by_ids(spec["chunk_ids"]))
        out["entities_by_name"] = {
            n: jsonable(await ents.get_by_id(compute_mdhash_id(n, prefix="ent-"))) for n in spec.get("entity_names", [])
        }
    finally:
        for s in storages:
            await s.finalize()
    out["log_errors"] = errors.messages
    print("PROBE-RESULT " + json.dumps(out))


asyncio.run(main())
