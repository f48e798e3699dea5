#!/usr/bin/env bash
# npm run demo: brings up the local services and runs the main job on the embedded defaults.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
export DATABASE_URL TEMPORAL_ADDRESS TEMPORAL_UI_URL
[ -f dist/client/cli.js ] || npm run build
node dist/client/cli.js doctor
echo
echo "Temporal UI (every workflow, its history and current details): $TEMPORAL_UI_URL"
