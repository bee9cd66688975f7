# shellcheck shell=bash
# A throw-away Keystone (identity v3) for the tests. Source this file, then:
#   keystone_start   # fresh Keystone on 127.0.0.1:${OASIS_TEST_KEYSTONE_PORT:-55357}, exports KEYSTONE_*
#   keystone_stop
# Debian's keystone package (installed with apt-get when missing; CI runs as root), SQLite, fernet
# tokens, served by uwsgi (one worker, one thread: SQLite takes one writer at a time; every answer
# closes its connection, as uwsgi's plain HTTP socket does, so that clients never reuse a dead one). keystone-manage bootstrap makes the admin; then two projects with a
# member each, an admin of the first, and Oasis's service user in the `service` project.
# Every user's password is $KEYSTONE_PASSWORD. The tests register Oasis in the catalog themselves,
# since only they know the port their Oasis listens on.
#
# Exports: KEYSTONE_URL (http://127.0.0.1:<port>/v3), KEYSTONE_PASSWORD, KEYSTONE_PID (the uwsgi
# master, leader of its process group).

_keystone_port() { echo "${OASIS_TEST_KEYSTONE_PORT:-55357}"; }
_keystone_base() { echo "${OASIS_TEST_KEYSTONE_DIR:-/tmp/oasis-keystone}/$(_keystone_port)"; }

keystone_stop() {
  local base pid
  base="$(_keystone_base)"
  [[ -f "$base/uwsgi.pid" ]] || return 0
  pid="$(cat "$base/uwsgi.pid")"
  # uwsgi runs in its own process group (setsid): its workers go with it.
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$base/uwsgi.pid"
}

keystone_start() {
  local port base url
  if ! command -v keystone-manage >/dev/null || ! command -v uwsgi >/dev/null; then
    echo "keystone.sh: installing keystone with apt-get" >&2
    { apt-get -o DPkg::Lock::Timeout=600 update &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends keystone uwsgi-plugin-python3; } >/dev/null ||
      { echo "keystone.sh: apt-get install keystone failed" >&2; return 1; }
  fi
  port="$(_keystone_port)"
  base="$(_keystone_base)"
  url="http://127.0.0.1:$port/v3"
  keystone_stop
  rm -rf "$base"
  mkdir -p "$base/fernet-keys" "$base/credential-keys"
  chmod 700 "$base"

  cat > "$base/keystone.conf" <<CONF
[DEFAULT]
log_file = $base/keystone.log
use_stderr = false
[database]
connection = sqlite:///$base/keystone.db
[identity]
# bcrypt's cheapest cost: every password login of the tests takes milliseconds instead of ~0.3 s.
password_hash_rounds = 4
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $base/fernet-keys
[fernet_receipts]
key_repository = $base/fernet-keys
[credential]
key_repository = $base/credential-keys
CONF

  local manage=(keystone-manage --config-file "$base/keystone.conf")
  # The key repositories keystone-manage fernet_setup and credential_setup would make (a staged
  # key 0 and a primary key 1), written directly: each keystone-manage run costs seconds of imports.
  python3 - "$base/fernet-keys" "$base/credential-keys" <<'PY'
import base64, os, sys
for repository in sys.argv[1:]:
    for name in ("0", "1"):
        path = os.path.join(repository, name)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as key:
            key.write(base64.urlsafe_b64encode(os.urandom(32)).decode())
PY
  "${manage[@]}" db_sync >>"$base/setup.log" 2>&1 &&
    "${manage[@]}" bootstrap --bootstrap-password "$KEYSTONE_PASSWORD" --bootstrap-username admin \
      --bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-service-name keystone \
      --bootstrap-region-id RegionOne --bootstrap-admin-url "$url" --bootstrap-public-url "$url" \
      --bootstrap-internal-url "$url" >>"$base/setup.log" 2>&1 ||
    { echo "keystone.sh: keystone-manage failed; log follows" >&2; tail -n 20 "$base/setup.log" >&2; return 1; }
  # Keystone leaves read transactions open between requests; in SQLite's default journal mode they
  # block every write ("database is locked"). In WAL mode readers never block the writer.
  python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$base/keystone.db"

  OS_KEYSTONE_CONFIG_FILES="$base/keystone.conf" setsid uwsgi --plugins python3 \
    --http-socket "127.0.0.1:$port" --wsgi-file /usr/bin/keystone-wsgi-public \
    --master --processes 1 --threads 1 --die-on-term --buffer-size 65535 \
    --add-header 'Connection: close' \
    --logto "$base/uwsgi.log" --pidfile "$base/uwsgi.pid" >/dev/null 2>&1 < /dev/null &
  local ready=""
  for _ in $(seq 1 300); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$url" 2>/dev/null; then ready=1; break; fi
    sleep 0.2
  done
  if [[ -z "$ready" ]]; then
    echo "keystone.sh: Keystone did not answer on $url; log follows" >&2
    tail -n 20 "$base/uwsgi.log" "$base/keystone.log" >&2 2>/dev/null
    return 1
  fi
  python3 "$(dirname "${BASH_SOURCE[0]}")/keystone-identities.py" "$url" "$KEYSTONE_PASSWORD" >>"$base/setup.log" 2>&1 ||
    { echo "keystone.sh: creating the test identities failed; log follows" >&2; tail -n 20 "$base/setup.log" >&2; return 1; }
  export KEYSTONE_URL="$url"
  KEYSTONE_PID="$(cat "$base/uwsgi.pid")"
  export KEYSTONE_PID KEYSTONE_PASSWORD
}

export KEYSTONE_PASSWORD="${KEYSTONE_PASSWORD:-oasis-test-secret}"
