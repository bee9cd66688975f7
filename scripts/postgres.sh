# shellcheck shell=bash
# A throw-away PostgreSQL server for the tests. Source this file, then:
#   postgres_start   # fresh cluster on 127.0.0.1:${OASIS_TEST_PG_PORT:-55432}, exports POSTGRES_URL
#   postgres_stop
# The cluster lives in /tmp/oasis-postgres/<port> (OASIS_TEST_PG_DIR overrides /tmp/oasis-postgres).
# Under root it runs as the `postgres` OS user, so it must be outside the checkout: the checkout's
# parent directories may be closed to other users; under any other user it runs as that user, in
# /tmp/oasis-postgres-<uid>/<port>.
# Installs the server with apt-get when no binaries are found and this is root (as in CI); any
# other user needs the server installed (Debian: `apt-get install postgresql`).


_postgres_bin_dir() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)" || true
  [[ -n "$dir" && -x "$dir/pg_ctl" ]] && echo "$dir"
}

_postgres_port() { echo "${OASIS_TEST_PG_PORT:-55432}"; }
_postgres_is_root() { [[ "$(id -u)" == 0 ]]; }
_postgres_root() {
  if [[ -n "${OASIS_TEST_PG_DIR:-}" ]]; then echo "$OASIS_TEST_PG_DIR"
  elif _postgres_is_root; then echo /tmp/oasis-postgres
  else echo "/tmp/oasis-postgres-$(id -u)"; fi
}
_postgres_base() { echo "$(_postgres_root)/$(_postgres_port)"; }

# Runs a server binary from a directory it may enter (avoids cd warnings): as the postgres user
# under root (the server refuses to run as root), as the caller otherwise.
_postgres_run() {
  if _postgres_is_root; then
    (cd "$(_postgres_base)" && runuser -u postgres -- "$@")
  else
    (cd "$(_postgres_base)" && "$@")
  fi
}

postgres_stop() {
  local bin base
  base="$(_postgres_base)"
  [[ -f "$base/data/postmaster.pid" ]] || return 0
  bin="$(_postgres_bin_dir)" || return 0
  _postgres_run "$bin/pg_ctl" -D "$base/data" -m immediate -w stop >/dev/null 2>&1 || true
}

postgres_start() {
  local bin base port
  bin="$(_postgres_bin_dir)" || true
  if [[ -z "$bin" ]] && ! _postgres_is_root; then
    echo "postgres.sh: no PostgreSQL server found; install it (Debian: sudo apt-get install postgresql) or run as root" >&2
    return 1
  fi
  if [[ -z "$bin" ]]; then
    echo "postgres.sh: installing PostgreSQL with apt-get" >&2
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } >/dev/null || return 1
    bin="$(_postgres_bin_dir)" || { echo "postgres.sh: no PostgreSQL server binaries after install" >&2; return 1; }
  fi
  port="$(_postgres_port)"
  base="$(_postgres_base)"
  mkdir -p "$base"
  if _postgres_is_root; then
    id -u postgres >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
    chmod 755 "$(_postgres_root)"
    chown postgres: "$base"
  fi
  postgres_stop
  rm -rf "$base/data"

  _postgres_run "$bin/initdb" -D "$base/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null ||
    { echo "postgres.sh: initdb failed" >&2; return 1; }
  # fsync and friends off: a test cluster is thrown away, so durability only costs time.
  if ! _postgres_run "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$base -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null; then
    echo "postgres.sh: server did not start on port $port; log follows" >&2
    tail -n 20 "$base/server.log" >&2
    return 1
  fi
  export POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}
