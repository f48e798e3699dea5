"""Writes to and searches the entity vectors of several workspaces with LightRAG's own
PGVectorStorage (lightrag-hku, pinned by scripts/lightrag-venv.sh) and prints what it reads back.

Input (argv[1]): JSON {dim, writes: [{workspace, upsert: {id: {entity_name, vector}}, delete: [id]}],
queries: [{workspace, vector, top_k}]}. Writes run first (upserts, deletes, then LightRAG's flush),
then every query through PGVectorStorage.query. Nothing reaches the network: an upserted entity's
content is its vector as JSON and the embedding function decodes it.
Output: PROBE-RESULT {"queries": [[entity_name, ...], ...]}.
"""
import asyncio
import json
import os
import sys
import tempfile

import numpy as np

os.environ.pop("POSTGRES_WORKSPACE", None)

from lightrag.kg.postgres_impl import PGVectorStorage  # noqa: E402
from lightrag.kg.shared_storage import initialize_share_data  # noqa: E402
from lightrag.utils import EmbeddingFunc  # noqa: E402


async def embed_json_content(texts):
    return np.array([json.loads(t) for t in texts], dtype=np.float32)


async def main():
    spec = json.loads(open(sys.argv[1]).read())
    initialize_share_data()
    emb = EmbeddingFunc(embedding_dim=spec["dim"], func=embed_json_content)
    cfg = {
        "working_dir": tempfile.mkdtemp(),
        "embedding_batch_num": 64,
        "vector_db_storage_cls_kwargs": {"cosine_better_than_threshold": -1.0},
        "vector_storage": "PGVectorStorage",
    }
    stores = {}

    async def store(ws):
        if ws not in stores:
            s = PGVectorStorage(namespace="entities", workspace=ws, global_config=cfg, embedding_func=emb,
                                meta_fields={"entity_name", "source_id", "content", "file_path"})
            await s.initialize()
            stores[ws] = s
        return stores[ws]

    try:
        for w in spec.get("writes", []):
            s = await store(w["workspace"])
            data = {
                i: {"entity_name": e["entity_name"], "content": json.dumps(e["vector"]), "source_id": "probe", "file_path": "probe"}
                for i, e in w.get("upsert", {}).items()
            }
            await s.upsert(data)
            await s.delete(w.get("delete", []))
            await s.index_done_callback()
        results = []
        for q in spec["queries"]:
            s = await store(q["workspace"])
            rows = await s.query("unused", top_k=q["top_k"], query_embedding=q["vector"])
            results.append([r["entity_name"] for r in rows])
    finally:
        for s in stores.values():
            await s.finalize()
    print("PROBE-RESULT " + json.dumps({"queries": results}))


asyncio.run(main())
