#!/usr/bin/env bash
# The whole test suite, with its own set-up, so that `npm ci && npm test` works on a fresh machine:
#
#   1. type check and lint (typescript-eslint, Prettier, one-way imports);
#   2. the unit tests, which need no cluster: against SQLite and a PostgreSQL started here;
#   3. everything else, against a Spark standalone cluster, a Hadoop YARN/HDFS cluster, a Keystone,
#      a MariaDB (a Sahara database to import), the Python clients and Chromium, all installed and
#      started here.
#
# Every test that touches the database runs on SQLite and on PostgreSQL.
#
#   bash scripts/test.sh            everything, fast tests first
#   bash scripts/test.sh --unit     the unit tests only (SQLite, plus PostgreSQL when
#                                   OASIS_TEST_DATABASE_URL names one); no lint, no clusters
#   bash scripts/test.sh FILE...    these files, with every service started
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests that need no cluster, no Keystone and no browser.
unit_files() {
  find test/store test/api test/executions -name '*.test.ts' | grep -Ev '/(spark|yarn)-' | sort
  find test -maxdepth 1 -name '*.test.ts' | sort
}

run_tests() {
  node --import tsx --test --test-reporter=spec "$@"
}

# Unit test files wait on their databases and processes more than they compute, and each has its
# own databases and ports, so three at a time finish in about 60% of the time on 2 CPUs. The
# cluster suites share one Spark, one Hadoop and one Keystone, and run one file at a time.
run_unit_tests() {
  run_tests --test-concurrency=3 "$@"
}

if [[ "${1:-}" == "--unit" ]]; then
  bash scripts/bubblewrap.sh
  mapfile -t files < <(unit_files)
  run_unit_tests "${files[@]}"
  exit 0
fi

npx tsc -p tsconfig.json
bash scripts/bubblewrap.sh

source scripts/postgres.sh
source scripts/spark.sh
source scripts/hadoop.sh
source scripts/keystone.sh
source scripts/mariadb.sh
trap 'mariadb_stop; keystone_stop; hadoop_stop; spark_stop; postgres_stop' EXIT

if [[ $# -gt 0 ]]; then
  files=("$@")
else
  npm run --silent lint
  postgres_start
  export OASIS_TEST_DATABASE_URL="$POSTGRES_URL"
  mapfile -t unit < <(unit_files)
  run_unit_tests "${unit[@]}"
  mapfile -t files < <(find test -name '*.test.ts' | sort | grep -vxF -f <(printf '%s\n' "${unit[@]}"))
fi

bash scripts/python-clients.sh
bash scripts/chromium.sh
[[ -n "${OASIS_TEST_DATABASE_URL:-}" ]] || { postgres_start; export OASIS_TEST_DATABASE_URL="$POSTGRES_URL"; }
spark_start
hadoop_start
keystone_start
mariadb_start
run_tests "${files[@]}"
