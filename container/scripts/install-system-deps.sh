#!/usr/bin/env bash
# Installs what the converter needs from Debian's packages: LibreOffice (headless, UNO bridge for the
# system python3), metric-compatible and wide-coverage fonts, poppler-utils (pdfinfo, pdftoppm), and tini (the
# image's init: it reaps LibreOffice processes orphaned by a kill).
# One script for the container image, CI and local set-up, so CI exercises the image's install steps.
# Usage: install-system-deps.sh [extra Debian packages…]
set -euo pipefail

packages=(
  libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno
  fonts-liberation2 fonts-crosextra-carlito fonts-crosextra-caladea fonts-dejavu fonts-noto-core
  fonts-noto-cjk fonts-noto-extra fonts-noto-ui-core fonts-noto-color-emoji fonts-opensymbol
  poppler-utils fontconfig
  tini
  # Extra packages from the caller (scripts/setup.sh adds what only the tests need).
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system dependencies already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
$SUDO fc-cache -f >/dev/null 2>&1 || true
echo "installed: ${missing[*]}"
