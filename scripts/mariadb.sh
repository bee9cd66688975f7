# shellcheck shell=bash
# A throw-away MariaDB server for the Sahara import tests (a Sahara database is MySQL or MariaDB).
# Source this file, then:
#   mariadb_start   # fresh server on a socket in /tmp/oasis-mariadb/<port>, exports MARIADB_SOCKET
#   mariadb_stop
# Installs Debian's mariadb-server with apt-get when it is missing (CI runs as root). The server
# runs as the `mysql` user and listens on its socket only; root connects through it.

_mariadb_port() { echo "${OASIS_TEST_MARIADB_PORT:-53306}"; }
_mariadb_root() { echo "${OASIS_TEST_MARIADB_DIR:-/tmp/oasis-mariadb}"; }
_mariadb_base() { echo "$(_mariadb_root)/$(_mariadb_port)"; }

mariadb_stop() {
  local base pid
  base="$(_mariadb_base)"
  [[ -f "$base/mariadbd.pid" ]] || return 0
  pid="$(cat "$base/mariadbd.pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$base/mariadbd.pid"
}

mariadb_start() {
  local base
  if ! command -v mariadbd >/dev/null && [[ ! -x /usr/sbin/mariadbd ]] || ! command -v mysql >/dev/null; then
    echo "mariadb.sh: installing mariadb-server with apt-get" >&2
    { apt-get -o DPkg::Lock::Timeout=600 update &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends mariadb-server mariadb-client; } >/dev/null ||
      { echo "mariadb.sh: apt-get install mariadb-server failed" >&2; return 1; }
  fi
  base="$(_mariadb_base)"
  mariadb_stop
  rm -rf "$base"
  mkdir -p "$base"
  chmod 755 "$(_mariadb_root)"
  chown mysql: "$base"
  mariadb-install-db --user=mysql --datadir="$base/data" --skip-test-db --auth-root-authentication-method=socket >"$base/install.log" 2>&1 ||
    { echo "mariadb.sh: mariadb-install-db failed; log follows" >&2; tail -n 20 "$base/install.log" >&2; return 1; }
  # No TCP, no durability: a test server is thrown away.
  /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$base/data" --socket="$base/mysqld.sock" --skip-networking \
    --pid-file="$base/mariadbd.pid" --log-error="$base/error.log" --innodb-flush-log-at-trx-commit=0 --skip-log-bin \
    --max-allowed-packet=64M </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 300); do
    mysql --socket="$base/mysqld.sock" -e 'SELECT 1' >/dev/null 2>&1 && { export MARIADB_SOCKET="$base/mysqld.sock"; return 0; }
    sleep 0.2
  done
  echo "mariadb.sh: MariaDB did not start; log follows" >&2
  tail -n 20 "$base/error.log" >&2
  return 1
}
