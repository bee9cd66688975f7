# shellcheck shell=bash
# A real Spark standalone cluster on 127.0.0.1 for the tests. Source this file, then:
#   spark_start   # one master (REST submission server on) and two workers; exports
#                 # SPARK_HOME, SPARK_MASTER_URL, SPARK_REST_URL, SPARK_MASTER_WEB
#   spark_stop
# Spark comes from the pip package `pyspark` (pinned below), installed into the venv
# .cache/spark/venv (git-ignored) and re-used. The pip package has no sbin/start-*.sh, so the
# daemons are started with bin/spark-class. Logs and worker directories go to .cache/spark.
# Java 17 must be on PATH (or JAVA_HOME set).

OASIS_SPARK_VERSION="3.5.9"
OASIS_SPARK_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OASIS_SPARK_BASE="$OASIS_SPARK_REPO/.cache/spark"

_spark_venv() { echo "$OASIS_SPARK_BASE/venv"; }

_spark_install() {
  local venv python
  venv="$(_spark_venv)"
  python="$venv/bin/python"
  if [[ -x "$python" ]] && "$python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$OASIS_SPARK_VERSION')" 2>/dev/null; then
    return 0
  fi
  echo "spark.sh: installing pyspark==$OASIS_SPARK_VERSION into $venv" >&2
  python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$OASIS_SPARK_VERSION" >&2 || return 1
}

_spark_home() {
  "$(_spark_venv)/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

# Whether <pid> is still the Spark daemon this script started: its command line names a Spark
# deploy class, so a pid recycled by another program is never killed.
_spark_is_ours() {
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'org\.apache\.spark\.deploy\.'
}

# Kills the daemons recorded in pid files (only those: never by name).
_spark_kill_recorded() {
  local pidfile pid
  for pidfile in "$OASIS_SPARK_BASE"/run/*.pid; do
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if _spark_is_ours "$pid"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

spark_stop() {
  _spark_kill_recorded
}

# Starts one daemon in the background: spark_daemon <name> <class> [args...]; records its pid.
spark_daemon() {
  local name="$1"
  shift
  mkdir -p "$OASIS_SPARK_BASE/run" "$OASIS_SPARK_BASE/logs"
  SPARK_HOME="$SPARK_HOME" SPARK_NO_DAEMONIZE=1 \
    nohup "$SPARK_HOME/bin/spark-class" "$@" >"$OASIS_SPARK_BASE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$OASIS_SPARK_BASE/run/$name.pid"
}

# Starts a worker with 2 cores and 1g of memory (tests ask for 512m drivers and executors): spark_worker <name> [extra args...].
spark_worker() {
  local name="$1"
  shift
  mkdir -p "$OASIS_SPARK_BASE/work/$name"
  spark_daemon "$name" org.apache.spark.deploy.worker.Worker \
    --host 127.0.0.1 --port 0 --webui-port 0 --cores 2 --memory 1g \
    --work-dir "$OASIS_SPARK_BASE/work/$name" "$@" "$SPARK_MASTER_URL"
}

# Waits until the master's /json lists at least <n> ALIVE workers.
spark_wait_workers() {
  local want="$1" alive
  for _ in $(seq 1 240); do
    alive="$( (curl -fsS "$SPARK_MASTER_WEB/json/" 2>/dev/null || true) | (grep -o '"state" *: *"ALIVE"' || true) | wc -l)"
    [[ "$alive" -ge "$want" ]] && return 0
    sleep 0.5
  done
  echo "spark.sh: fewer than $want workers registered; see $OASIS_SPARK_BASE/logs" >&2
  spark_stop
  return 1
}

spark_start() {
  _spark_install || return 1
  spark_stop
  SPARK_HOME="$(_spark_home)" || return 1
  export SPARK_HOME
  export SPARK_MASTER_URL="spark://127.0.0.1:7077"
  export SPARK_REST_URL="http://127.0.0.1:6066"
  export SPARK_MASTER_WEB="http://127.0.0.1:8080"
  export SPARK_LOCAL_IP=127.0.0.1
  export SPARK_DAEMON_MEMORY=512m
  rm -rf "$OASIS_SPARK_BASE/work"
  SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=true -Dspark.master.rest.port=6066" \
    spark_daemon master org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port 7077 --webui-port 8080
  local up=''
  for _ in $(seq 1 120); do
    if curl -fsS "$SPARK_MASTER_WEB/json/" >/dev/null 2>&1; then up=1; break; fi
    _spark_is_ours "$(cat "$OASIS_SPARK_BASE/run/master.pid")" || break
    sleep 0.5
  done
  if [[ -z "$up" ]]; then
    echo "spark.sh: the Spark master did not come up; log follows" >&2
    tail -n 30 "$OASIS_SPARK_BASE/logs/master.log" >&2
    spark_stop
    return 1
  fi
  spark_worker worker1
  spark_worker worker2
  spark_wait_workers 2
}
