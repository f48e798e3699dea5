#!/usr/bin/env bash
# Creates (idempotently) a Python virtual environment with LightRAG's PostgreSQL storages, used by
# test/integration/postgres/lightrag-compat.test.ts to open a migrated workspace with LightRAG itself.
# PyPI only; every package pinned (the full resolved set of lightrag-hku 1.5.7 + asyncpg).
# Usage: scripts/lightrag-venv.sh            → prints the venv's python path on stdout
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${HYBRIDRAG_LIGHTRAG_VENV:-$ROOT/.services/lightrag-venv}
LIGHTRAG_VERSION=1.5.7   # ships PGKVStorage, PGVectorStorage, PGDocStatusStorage and PGTableGraphStorage
STAMP=$VENV/.hybridrag-lightrag-$LIGHTRAG_VERSION-r1

PINS=(
  lightrag-hku==$LIGHTRAG_VERSION asyncpg==0.32.0
  aiohappyeyeballs==2.7.1 aiohttp==3.14.5 aiosignal==1.4.0 annotated-types==0.8.0 anyio==4.16.0
  ascii_colors==0.13.0 attrs==26.1.0 certifi==2026.10.19.post1 cffi==2.1.1 charset-normalizer==3.5.3
  configparser==7.3.0 cryptography==50.0.2 distro==1.9.0 frozenlist==1.8.0 google-api-core==2.44.0
  google-auth==2.63.0 google-genai==2.34.0 googleapis-common-protos==1.76.0 h11==0.16.0 httpcore==1.0.9
  httpx==0.28.1 idna==3.20 json_repair==0.64.6 multidict==7.2.1 nano-vectordb==0.0.4.3 networkx==3.6.1
  numpy==2.4.6 opentelemetry-api==1.45.2 packaging==26.4 pandas==3.1.1 pipmaster==1.2.2 propcache==0.5.4
  proto-plus==1.29.0 protobuf==7.36.2 pyasn1==0.6.5 pyasn1_modules==0.4.2 pycparser==3.12 pydantic==2.14.4
  pydantic_core==2.50.5 pypinyin==0.55.0 python-dateutil==4.0.0 python-dotenv==1.2.4 PyYAML==6.0.4
  regex==2026.11.19 requests==2.34.2 sniffio==1.3.1 tenacity==9.1.4 tiktoken==0.14.0
  typing-inspection==0.4.5 typing_extensions==4.16.0 tzdata==2026.6 urllib3==2.8.0 wcwidth==0.9.4
  websockets==17.4 xlsxwriter==3.3.1 yarl==1.25.1
)

if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ]; then echo "$VENV/bin/python"; exit 0; fi

PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "lightrag-venv: python3 is missing; install it (apt-get install python3 python3-venv)." >&2; exit 1; }
# Debian splits venv's pip bootstrap (ensurepip) into python3-venv: check for it, install it as root.
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "lightrag-venv: Python's venv module is incomplete; install python3-venv (needs root)." >&2; exit 1; }
  echo "lightrag-venv: installing python3-venv from Debian …" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; } >/dev/null 2>&1 \
    || { echo "lightrag-venv: apt-get install python3-venv failed." >&2; exit 1; }
fi
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV" >&2 || { echo "lightrag-venv: could not create a virtual environment; install python3-venv." >&2; exit 1; }
"$VENV/bin/pip" install --disable-pip-version-check --no-input -q "${PINS[@]}" >&2 \
  || { echo "lightrag-venv: pip could not install lightrag-hku==$LIGHTRAG_VERSION from PyPI." >&2; exit 1; }
touch "$STAMP"
echo "$VENV/bin/python"
