#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the browser test (test/workflow/temporal-ui.test.ts).
# Idempotent: prints the browser's path and exits 0 when it is (or becomes) available; exits 1
# with the reason when it cannot be installed (not root, no package mirror).
set -euo pipefail
BROWSER=/usr/bin/chromium
if [ -x "$BROWSER" ]; then echo "$BROWSER"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "chromium is missing and installing it needs root (apt-get install -y chromium)" >&2; exit 1; fi
echo "browser: installing Debian's chromium for the Temporal UI test …" >&2
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 \
  || { echo "apt-get install chromium failed (no Debian package mirror reachable?)" >&2; exit 1; }
[ -x "$BROWSER" ] || { echo "chromium installed but $BROWSER is missing" >&2; exit 1; }
echo "$BROWSER"
