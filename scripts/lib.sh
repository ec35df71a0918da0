# Shared helpers for scripts/dev, scripts/test and scripts/bench: find or start the
# services the system needs. Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install sudo or run as root)"; fi
}

apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found; install these packages yourself: $*"
  log "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# port_open HOST PORT: something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# redis_pong HOST PORT: a Redis server answers PING there.
redis_pong() {
  local reply
  reply=$( (exec 3<>"/dev/tcp/$1/$2" && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3) 2>/dev/null) || return 1
  [ "${reply:0:5}" = "+PONG" ]
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  die "timed out waiting for $what"
}

# host and port of a redis:// URL
redis_host_port() {
  local rest=${1#redis://}; rest=${rest##*@}; rest=${rest%%/*}
  REDIS_HOST=${rest%%:*}; REDIS_PORT=${rest##*:}
  [ "$REDIS_PORT" = "$rest" ] && REDIS_PORT=6379
  [ -n "$REDIS_HOST" ] || REDIS_HOST=127.0.0.1
}

STARTED_REDIS_PID=""
# ensure_redis URL PERSIST(yes|no): uses the Redis at URL, or starts one there.
ensure_redis() {
  local url=$1 persist=$2
  redis_host_port "$url"
  if redis_pong "$REDIS_HOST" "$REDIS_PORT"; then log "Redis: using $url"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  local dir="$ROOT/data/redis"; mkdir -p "$dir"
  local opts=(--bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --logfile "$dir/redis.log" --daemonize yes --pidfile "$dir/redis.pid")
  if [ "$persist" = yes ]; then opts+=(--appendonly yes --appendfsync everysec --save ""); else opts+=(--appendonly no --save ""); fi
  log "Redis: starting redis-server on port $REDIS_PORT (data in data/redis)"
  redis-server "${opts[@]}" || die "redis-server did not start; see $dir/redis.log"
  wait_for 10 "Redis on port $REDIS_PORT" redis_pong 127.0.0.1 "$REDIS_PORT"
  STARTED_REDIS_PID=$(cat "$dir/redis.pid" 2>/dev/null)
}

# ensure_postgres: PostgreSQL on 127.0.0.1:5432 with a role and database for the tests.
ensure_postgres() {
  if port_open 127.0.0.1 5432; then log "PostgreSQL: using 127.0.0.1:5432"; return; fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then apt_install postgresql; fi
  if command -v pg_ctlcluster >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    local v; v=$(ls /etc/postgresql | sort -V | tail -1)
    log "PostgreSQL: starting cluster $v/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  fi
  wait_for 30 "PostgreSQL on 127.0.0.1:5432" port_open 127.0.0.1 5432
  log "PostgreSQL: creating role $(id -un) and database test"
  local me; me=$(id -un)
  as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = '$me'\" | grep -q 1 || psql -qc \"CREATE ROLE \\\"$me\\\" LOGIN SUPERUSER PASSWORD '$me'\""
  as_root su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'test'\" | grep -q 1 || createdb -O \"$me\" test"
  export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://$me:$me@127.0.0.1:5432/test}"
}

# ensure_python_tools: a virtualenv in target/tools with the pinned Python tools of
# scripts/sdk-check and scripts/fuzz (scripts/python-tools.txt). Sets PY_TOOLS to its bin/.
ensure_python_tools() {
  local venv="$ROOT/target/tools/venv" req="$ROOT/scripts/python-tools.txt"
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11 or newer is needed (found $(python3 --version 2>&1))"
  if [ ! -x "$venv/bin/pip" ]; then
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      apt_install python3-venv
      rm -rf "$venv"
      python3 -m venv "$venv" || die "python3 -m venv failed"
    fi
  fi
  if ! cmp -s "$req" "$venv/installed.txt"; then
    log "installing the pinned Python tools into target/tools/venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/installed.txt"
  fi
  PY_TOOLS="$venv/bin"
}

# ensure_node: Node.js 20 or newer with npm.
ensure_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
  local major; major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js 20 or newer is needed (found $(node --version))"
}

# free_port: prints a local TCP port nothing listens on, below the kernel's ephemeral
# range: a port in it may be the local end of some outgoing connection, which nothing
# listens on but which still makes binding it fail.
free_port() {
  local p lo=32768 rest
  read -r lo rest </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "${lo:-0}" -gt 21000 ] 2>/dev/null || lo=60001
  for _ in $(seq 50); do
    p=$(shuf -i "20000-$((lo - 1))" -n 1)
    port_open 127.0.0.1 "$p" || { echo "$p"; return; }
  done
  die "no free port found"
}

API_PID=""
# start_api DIR RATE_LIMIT: the waplify-api binary from target/debug on a free port over
# a fresh SQLite database in DIR, the Redis at REDIS_URL under a prefix of its own, with
# the demo account of scripts/dev. Sets API_URL, API_KEY and API_PREFIX; stop_api ends it.
start_api() {
  local dir=$1 limit=$2 bin="$ROOT/target/debug"
  rm -rf "$dir"; mkdir -p "$dir"
  API_PREFIX="ci$(date +%s)$$"
  local port; port=$(free_port)
  export DATABASE_URL="sqlite://$dir/api.db?mode=rwc" WAPLIFY_QUEUE_PREFIX="$API_PREFIX"
  export API_BIND="127.0.0.1:$port" API_RATE_LIMIT_PER_MINUTE="$limit"
  export RUST_LOG="${RUST_LOG:-warn}"
  "$bin/waplify-api" migrate >/dev/null || die "waplify-api migrate failed"
  local demo; demo=$("$bin/waplify-admin" demo --state-file "$dir/demo.json")
  API_KEY=$(printf '%s' "$demo" | sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
  [ -n "$API_KEY" ] || die "could not read the demo API key from: $demo"
  "$bin/waplify-api" serve >"$dir/api.log" 2>&1 & API_PID=$!
  API_URL="http://$API_BIND"
  wait_for 30 "the API on $API_BIND" port_open 127.0.0.1 "$port"
}

# stop_api: stops the API of start_api and deletes its Redis keys.
stop_api() {
  if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; fi
  API_PID=""
  if [ -n "${API_PREFIX:-}" ] && command -v redis-cli >/dev/null; then
    redis-cli -u "$REDIS_URL" --scan --pattern "$API_PREFIX:*" \
      | xargs -r -n 500 redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
  fi
}
