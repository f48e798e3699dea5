"""Starts every LightRAG PostgreSQL storage (lightrag-hku, pinned by scripts/lightrag-venv.sh) the way
LightRAG does on startup — table checks and every startup migration — for each store of a database,
and prints every ERROR record LightRAG logged as JSON.

Input (argv[1]): JSON {stores: [{workspace, dim, model}]}. Connection: POSTGRES_* in the environment.
Nothing reaches the network: the embedding function must never be called.
"""
import asyncio
import json
import logging
import os
import sys
import tempfile

os.environ.pop("POSTGRES_WORKSPACE", None)

from lightrag.kg.postgres_impl import PGDocStatusStorage, PGKVStorage, PGVectorStorage  # noqa: E402
from lightrag.kg.pgtable_impl import PGTableGraphStorage  # noqa: E402
from lightrag.kg.shared_storage import initialize_share_data  # noqa: E402
from lightrag.utils import EmbeddingFunc  # noqa: E402

KV_NAMESPACES = [
    "full_docs",
    "text_chunks",
    "llm_response_cache",
    "full_entities",
    "full_relations",
    "entity_chunks",
    "relation_chunks",
]
VECTOR_NAMESPACES = {
    "entities": {"entity_name", "source_id", "content", "file_path"},
    "relationships": {"src_id", "tgt_id", "source_id", "content", "file_path"},
    "chunks": {"full_doc_id", "content", "file_path"},
}


class Collector(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.errors = []
        self.infos = []

    def emit(self, record):
        (self.errors if record.levelno >= logging.ERROR else self.infos).append(record.getMessage())


async def no_network_embedding(texts):
    raise RuntimeError("the startup probe must not embed text")


async def start(store):
    ws = store["workspace"]
    emb = EmbeddingFunc(embedding_dim=store["dim"], func=no_network_embedding, model_name=store["model"])
    cfg = {
        "working_dir": tempfile.mkdtemp(),
        "embedding_batch_num": 10,
        "vector_db_storage_cls_kwargs": {"cosine_better_than_threshold": 0.2},
        "max_graph_nodes": 1000,
        "vector_storage": "PGVectorStorage",
    }
    storages = [PGKVStorage(namespace=n, workspace=ws, global_config=cfg, embedding_func=emb) for n in KV_NAMESPACES]
    storages.append(PGDocStatusStorage(namespace="doc_status", workspace=ws, global_config=cfg, embedding_func=emb))
    for n, meta in VECTOR_NAMESPACES.items():
        storages.append(PGVectorStorage(namespace=n, workspace=ws, global_config=cfg, embedding_func=emb, meta_fields=meta))
    storages.append(PGTableGraphStorage(namespace="chunk_entity_relation", workspace=ws, global_config=cfg, embedding_func=emb))
    for s in storages:
        await s.initialize()
    for s in storages:
        await s.finalize()


async def main():
    spec = json.loads(open(sys.argv[1]).read())
    collector = Collector()
    logger = logging.getLogger("lightrag")
    logger.addHandler(collector)
    logger.setLevel(logging.INFO)
    initialize_share_data()
    for store in spec["stores"]:
        await start(store)
    out = {
        "log_errors": collector.errors,
        "migration_logs": [m for m in collector.infos if "migrat" in m.lower() and "skip" not in m.lower()],
    }
    print("PROBE-RESULT " + json.dumps(out))


asyncio.run(main())
