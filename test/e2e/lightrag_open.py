"""Starts LightRAG (lightrag-hku, the pinned venv) with exactly the settings `hybridrag backend
migrate` printed, and reads the migrated workspace through them; prints what it read as JSON.

argv[1]: JSON {env_lines: [...], arguments: {...}, embedding_dim, model_name, entity_id, entity_vector, chunk_ids}.
The printed `.env` lines go into the environment as they are (python-dotenv, as lightrag-server
reads its .env); POSTGRES_PASSWORD comes from this process's environment, since it is never printed.
Nothing reaches the network: the embedding and LLM functions are stand-ins that must never be
called, and the tokenizer is a local stand-in.
"""
import asyncio
import io
import json
import os
import sys
import tempfile

from dotenv import dotenv_values

spec = json.loads(open(sys.argv[1]).read())
printed = dotenv_values(stream=io.StringIO("\n".join(spec["env_lines"]) + "\n"))
os.environ.update({k: v for k, v in printed.items() if v is not None})

from lightrag import LightRAG  # noqa: E402
from lightrag.utils import EmbeddingFunc, Tokenizer  # noqa: E402


class LocalTokenizer:
    def encode(self, content):
        return [ord(c) for c in content]

    def decode(self, tokens):
        return "".join(chr(t) for t in tokens)


async def no_network(*args, **kwargs):
    raise RuntimeError("reading a migrated workspace must not call a model")


async def main():
    args = spec["arguments"]
    # lightrag-server passes its LIGHTRAG_*_STORAGE settings as these arguments: they must agree
    for key, env in [("kv_storage", "LIGHTRAG_KV_STORAGE"), ("vector_storage", "LIGHTRAG_VECTOR_STORAGE"),
                     ("graph_storage", "LIGHTRAG_GRAPH_STORAGE"), ("doc_status_storage", "LIGHTRAG_DOC_STATUS_STORAGE")]:
        assert args[key] == os.environ[env], (key, args[key], os.environ[env])
    assert int(os.environ["EMBEDDING_DIM"]) == spec["embedding_dim"]
    assert os.environ.get("EMBEDDING_MODEL") == spec["model_name"]
    rag = LightRAG(
        working_dir=tempfile.mkdtemp(),
        **args,
        embedding_func=EmbeddingFunc(embedding_dim=spec["embedding_dim"], model_name=spec["model_name"], func=no_network),
        llm_model_func=no_network,
        tokenizer=Tokenizer("local", LocalTokenizer()),
        vector_db_storage_cls_kwargs={"cosine_better_than_threshold": -1.0},
    )
    await rag.initialize_storages()
    try:
        out = {
            "entities_table": rag.entities_vdb.table_name,
            "workspace": rag.text_chunks.workspace,
            "chunks": await rag.text_chunks.get_by_ids(spec["chunk_ids"]),
            "status_counts": await rag.doc_status.get_status_counts(),
            "node": await rag.chunk_entity_relation_graph.get_node(spec["entity_name"]),
            "neighbours": [
                r.get("entity_name")
                for r in await rag.entities_vdb.query("unused", top_k=3, query_embedding=spec["entity_vector"])
            ],
        }
    finally:
        await rag.finalize_storages()
    print("OPEN-RESULT " + json.dumps(out, default=str))


asyncio.run(main())
