#!/usr/bin/env bash
# Every benchmark under bench/: HTTP, scale, lifecycle, input limits and the job sandbox, on SQLite
# and PostgreSQL (one table of ratios measured side by side in the same run), then the Spark and YARN engines' overhead on the
# real clusters the test suite uses. Oasis runs compiled, as `npm start` runs it; PostgreSQL gets
# its own throw-away server on a port the test suite never uses.
set -euo pipefail
cd "$(dirname "$0")/.."

export OASIS_BENCH_DIST="$PWD/.cache/bench/dist"
rm -rf "$OASIS_BENCH_DIST"
# Files being edited elsewhere may not typecheck; tsc still emits, and the benchmarks need only that.
npx tsc -p tsconfig.build.json --outDir "$OASIS_BENCH_DIST" || echo "bench.sh: type errors; compiled anyway" >&2
[[ -f "$OASIS_BENCH_DIST/cli/main.js" ]] || { echo "bench.sh: compiling Oasis failed" >&2; exit 1; }
# What Oasis reads from its sources at run time (the dashboard, job-init.c, the YARN launcher) it
# finds in src/ beside its dist/, as in the repository.
ln -sfn "$PWD/src" "$(dirname "$OASIS_BENCH_DIST")/src"

source scripts/postgres.sh
source scripts/spark.sh
source scripts/hadoop.sh
export OASIS_TEST_PG_PORT="${OASIS_BENCH_PG_PORT:-55499}"
trap 'hadoop_stop; spark_stop; postgres_stop' EXIT
postgres_start
export OASIS_BENCH_DATABASE_URL="$POSTGRES_URL"

# The HTTP, scale and lifecycle table; its exit status says whether every target was met.
status=0
node --import tsx bench/run.ts || status=$?

# Engine overhead: a trivial job through Oasis's engine against the cluster's own client,
# alternating runs on the real Spark and Hadoop clusters of the test suite.
spark_start
echo; echo "Spark: trivial JVM application, Oasis engine vs spark-submit (target ratio <= 1.10)"
node --import tsx bench/spark-overhead.ts 5
spark_stop
hadoop_start
echo; echo "YARN: trivial streaming job, Oasis engine vs the Hadoop client (target ratio <= 1.10)"
node --import tsx bench/yarn-overhead.ts 3
exit "$status"
