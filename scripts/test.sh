#!/usr/bin/env bash
# The whole test suite, with its own set-up: PostgreSQL and the Python clients are installed
# and started here, so `npm ci && npm test` works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/postgres.sh
postgres_start
trap postgres_stop EXIT
export OASIS_TEST_DATABASE_URL="$POSTGRES_URL"

mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-reporter=spec "${files[@]}"
