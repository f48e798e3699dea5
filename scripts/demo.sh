#!/usr/bin/env bash
# npm run demo: brings up the local services, generates a sample LightRAG database, registers it
# in a demo HybridRAG registry, and runs a staged migration of it on the embedded defaults
# (backup → staging → verify → promote), printing where to watch it in the Temporal UI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
export DATABASE_URL TEMPORAL_ADDRESS TEMPORAL_UI_URL
[ -f dist/client/cli.js ] || npm run build

demo=.services/demo
rm -rf "$demo" && mkdir -p "$demo/home/.hybridrag"
node dist/scripts/gen.js --out "$demo/sample-kb" --records "${DEMO_RECORDS:-3000}" --dim 384 --era newest >/dev/null
cat >"$demo/home/.hybridrag/registry.yaml" <<YAML
version: 1
databases:
  sample-kb:
    name: sample-kb
    path: $PWD/$demo/sample-kb
    backend_type: json
YAML
export HYBRIDRAG_CONFIG="$PWD/$demo/home/.hybridrag/registry.yaml"

# A database of its own, so the demo can run again and again.
psql=$(command -v psql || echo "$HYBRIDRAG_PG_BIN/psql")
"$psql" "$DATABASE_URL" -XqAt -c "DROP DATABASE IF EXISTS hybridrag_demo WITH (FORCE)" -c "CREATE DATABASE hybridrag_demo" >/dev/null
target=$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/hybridrag_demo"; console.log(u.toString())' "$DATABASE_URL")

node dist/client/cli.js doctor --connection-string "$target" | head -3
echo
node dist/client/cli.js backend migrate sample-kb --dry-run --connection-string "$target"
echo
node dist/client/cli.js backend migrate sample-kb --staged -y --connection-string "$target"
echo
node dist/client/cli.js backend migrate sample-kb --list-backups
echo
echo "Registry entry now:"; sed -n '/sample-kb:/,$p' "$HYBRIDRAG_CONFIG"
echo
echo "Temporal UI (every workflow, its history and current details): $TEMPORAL_UI_URL"
