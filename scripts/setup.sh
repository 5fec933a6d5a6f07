#!/usr/bin/env bash
# Set-up on a fresh Debian machine with Node: the converter's system packages (the container image's own
# install script), Chromium for the browser test of /docs, and the npm packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium: driven by playwright-core at /usr/bin/chromium (no browser download).
bash container/scripts/install-system-deps.sh chromium
# npm install, not npm ci: the registry reachable here lacks workerd's macOS and Windows builds, which the
# lock file lists as optional, and npm ci refuses a lock it cannot fully match. The lock still pins versions.
npm install --no-audit --no-fund
