#!/usr/bin/env bash
# The whole test suite, with its own set-up: PostgreSQL and the Python clients are installed and
# started here, so `npm ci && npm test` works on a fresh machine. Every test that touches the
# database runs on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

npx tsc -p tsconfig.json
bash scripts/python-clients.sh

source scripts/postgres.sh
postgres_start
trap postgres_stop EXIT
export OASIS_TEST_DATABASE_URL="$POSTGRES_URL"

if [[ $# -gt 0 ]]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
node --import tsx --test --test-reporter=spec "${files[@]}"
