#!/usr/bin/env bash
# Makes sure a headless Chromium is installed for the dashboard's browser tests: Debian's
# `chromium`, with apt-get when the user is root and it is missing; otherwise it only says how.
# Prints nothing when Chromium is already there. The tests find it with `command -v chromium`.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: installing chromium (the dashboard's browser tests) with apt-get" >&2
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core; } >/dev/null
  exit 0
fi
echo "chromium.sh: chromium is not installed; the dashboard tests need it (Debian and Ubuntu: apt-get install chromium)" >&2
exit 1
