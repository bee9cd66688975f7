#!/usr/bin/env bash
# The whole test suite, with its own set-up: PostgreSQL, a Spark standalone cluster, a Hadoop
# YARN/HDFS cluster, a Keystone, a MariaDB (a Sahara database to import) and the Python clients
# are installed and started here, so that `npm ci && npm test` works on a fresh machine. Every
# test that touches the database runs on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

npx tsc -p tsconfig.json
bash scripts/bubblewrap.sh
bash scripts/python-clients.sh
bash scripts/chromium.sh

source scripts/postgres.sh
source scripts/spark.sh
source scripts/hadoop.sh
source scripts/keystone.sh
source scripts/mariadb.sh
trap 'mariadb_stop; keystone_stop; hadoop_stop; spark_stop; postgres_stop' EXIT
postgres_start
export OASIS_TEST_DATABASE_URL="$POSTGRES_URL"
spark_start
hadoop_start
keystone_start
mariadb_start

if [[ $# -gt 0 ]]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
node --import tsx --test --test-reporter=spec "${files[@]}"
