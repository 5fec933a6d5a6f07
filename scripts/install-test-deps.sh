#!/usr/bin/env bash
# Installs what the end-to-end tests need from Debian's packages: Chromium for the /docs browser test
# (driven by playwright-core at /usr/bin/chromium; playwright never downloads a browser here).
# Idempotent: does nothing when everything is installed.
set -euo pipefail

packages=(chromium fonts-liberation2)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
