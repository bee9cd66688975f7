#!/usr/bin/env bash
# Every benchmark under bench/, on SQLite and PostgreSQL, printing one table of ratios measured
# side by side in the same run. Oasis runs compiled, as `npm start` runs it; PostgreSQL gets its
# own throw-away server on a port the test suite never uses.
set -euo pipefail
cd "$(dirname "$0")/.."

export OASIS_BENCH_DIST="$PWD/.cache/bench/dist"
rm -rf "$OASIS_BENCH_DIST"
# Files being edited elsewhere may not typecheck; tsc still emits, and the benchmarks need only that.
npx tsc -p tsconfig.build.json --outDir "$OASIS_BENCH_DIST" || echo "bench.sh: type errors; compiled anyway" >&2
[[ -f "$OASIS_BENCH_DIST/cli/main.js" ]] || { echo "bench.sh: compiling Oasis failed" >&2; exit 1; }

source scripts/postgres.sh
export OASIS_TEST_PG_PORT="${OASIS_BENCH_PG_PORT:-55499}"
postgres_start
trap postgres_stop EXIT
export OASIS_BENCH_DATABASE_URL="$POSTGRES_URL"

node --import tsx bench/run.ts
