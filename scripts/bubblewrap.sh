#!/usr/bin/env bash
# Makes sure bubblewrap, the job sandbox, is installed: with apt-get when Oasis's user is root and
# it is missing; otherwise it only says how. `npm start` and the test suite run it first.
set -euo pipefail

if command -v bwrap >/dev/null 2>&1; then exit 0; fi
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "bubblewrap.sh: installing bubblewrap (the job sandbox) with apt-get" >&2
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap; } >/dev/null
  exit 0
fi
echo "bubblewrap.sh: bwrap is not installed; jobs cannot start until it is (Debian and Ubuntu: apt-get install bubblewrap)" >&2
