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
