# A real single-host Hadoop 3.5 cluster for the tests: NameNode + DataNode + ResourceManager +
# NodeManager + JobHistoryServer on 127.0.0.1 (scripts/hadoop/OasisMiniCluster.java), jars from
# Maven Central (kept in ~/.m2, so later runs start without downloading).
#
#   source scripts/hadoop.sh
#   hadoop_start   # exports HADOOP_RM_URL, HADOOP_NAMENODE, HADOOP_JOBHISTORY_URL,
#                  #   HADOOP_CONF_DIR (client configuration), HADOOP_CLASSPATH_FILE (client jars)
#   hadoop_stop
#
# Logs and state live under .cache/hadoop. Starting stops a cluster left over by an earlier run.

HADOOP_CACHE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/hadoop"
HADOOP_SOURCES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/hadoop"
HADOOP_NAMENODE_PORT="${HADOOP_NAMENODE_PORT:-8020}"
HADOOP_RM_WEB_PORT="${HADOOP_RM_WEB_PORT:-8088}"
HADOOP_RM_PORT="${HADOOP_RM_PORT:-8032}"

# Hadoop 3.5 on Java 17 reflects into these JDK packages.
HADOOP_JAVA_OPENS=(
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.security.x509=ALL-UNNAMED
  --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED
)

hadoop_classpath() {
  local cp_file="$HADOOP_CACHE_DIR/classpath.txt"
  if [[ ! -s "$cp_file" || "$HADOOP_SOURCES_DIR/pom.xml" -nt "$cp_file" ]]; then
    mkdir -p "$HADOOP_CACHE_DIR"
    mvn -q -B -f "$HADOOP_SOURCES_DIR/pom.xml" dependency:build-classpath \
      -Dmdep.outputFile="$cp_file" >"$HADOOP_CACHE_DIR/mvn.log" 2>&1 || {
      echo "hadoop.sh: resolving the Hadoop jars failed, see $HADOOP_CACHE_DIR/mvn.log" >&2
      tail -20 "$HADOOP_CACHE_DIR/mvn.log" >&2
      return 1
    }
  fi
  echo "$cp_file"
}

# Whether a process still runs (a zombie left for our shell to reap does not count).
hadoop_alive() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z* ]]
}

hadoop_stop() {
  local pid_file="$HADOOP_CACHE_DIR/cluster.pid"
  [[ -f "$pid_file" ]] || return 0
  local pid
  pid="$(cat "$pid_file")"
  # Only the JVM this script started: its command line names the cluster class (no recycled pid).
  if [[ -n "$pid" ]] && grep -q OasisMiniCluster "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      hadoop_alive "$pid" || break
      sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

hadoop_start() {
  hadoop_stop
  local cp_file
  cp_file="$(hadoop_classpath)" || return 1
  local classes="$HADOOP_CACHE_DIR/classes"
  mkdir -p "$classes"
  javac -nowarn -d "$classes" -cp "$(cat "$cp_file")" "$HADOOP_SOURCES_DIR/OasisMiniCluster.java" \
    2>"$HADOOP_CACHE_DIR/javac.log" || {
    cat "$HADOOP_CACHE_DIR/javac.log" >&2
    return 1
  }

  local base="$HADOOP_CACHE_DIR/cluster"
  rm -rf "$base"
  mkdir -p "$base"
  # The NodeManager hands JAVA_HOME to the containers it launches.
  export JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
  (
    cd "$base" &&
      exec setsid java -Xmx768m -XX:TieredStopAtLevel=1 "${HADOOP_JAVA_OPENS[@]}" \
        -Dlog4j.configuration=file:/dev/null -Dhadoop.log.dir="$base/logs" \
        -cp "$classes:$(cat "$cp_file")" OasisMiniCluster \
        "$base" "$HADOOP_NAMENODE_PORT" "$HADOOP_RM_WEB_PORT" "$HADOOP_RM_PORT" \
        >"$HADOOP_CACHE_DIR/cluster.log" 2>&1 </dev/null
  ) &
  echo $! >"$HADOOP_CACHE_DIR/cluster.pid"

  local rm_url="http://127.0.0.1:$HADOOP_RM_WEB_PORT"
  for _ in $(seq 1 360); do
    if [[ -f "$base/ready" ]] && curl -sf "$rm_url/ws/v1/cluster/info" >/dev/null; then
      export HADOOP_RM_URL="$rm_url"
      export HADOOP_NAMENODE
      HADOOP_NAMENODE="$(cat "$base/ready")"
      export HADOOP_JOBHISTORY_URL
      HADOOP_JOBHISTORY_URL="$(cat "$base/jobhistory")"
      export HADOOP_CONF_DIR="$base/conf"
      export HADOOP_CLASSPATH_FILE="$cp_file"
      return 0
    fi
    hadoop_alive "$(cat "$HADOOP_CACHE_DIR/cluster.pid")" || break
    sleep 0.5
  done
  echo "hadoop.sh: the Hadoop test cluster did not come up, see $HADOOP_CACHE_DIR/cluster.log" >&2
  tail -40 "$HADOOP_CACHE_DIR/cluster.log" >&2
  hadoop_stop
  return 1
}
