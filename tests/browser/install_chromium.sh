#!/usr/bin/env bash
# Debian's headless-capable Chromium for the report test (tests/integration: `repro report` rendered in a real
# browser). Idempotent: does nothing when chromium is on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "tests/browser/install_chromium.sh: already installed ($(chromium --version 2>/dev/null || echo ?))"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium
echo "tests/browser/install_chromium.sh: installed ($(chromium --version 2>/dev/null || echo ?))"
