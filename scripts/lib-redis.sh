# Shared by the Redis ops scripts (queue-stats, workers, task, dead, requeue, campaign,
# trim): the connection, the key prefix, flags, queue discovery and running their Lua.
# Sourced, not run. Needs bash, redis-cli and coreutils (campaign also uses curl when asked).
#
#   REDIS_URL             redis://[user:password@]host[:port][/db]   (default redis://127.0.0.1:6379);
#                         rediss://… for TLS
#   REDIS_CA_FILE         PEM of the CA a rediss:// server's certificate chains to (else the
#                         system's trusted roots)
#   WAPLIFY_QUEUE_PREFIX  key prefix of the queues                   (default waplify)
#   WAPLIFY_QUEUES        extra queue names to show even before they hold any key (a,b)

set -euo pipefail

REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
PREFIX="${WAPLIFY_QUEUE_PREFIX:-waplify}"
OPS_LUA="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lua"
ME="$(basename "$0")"
MODE=text

die() { printf '%s: %s\n' "$ME" "$*" >&2; exit 1; }

command -v redis-cli >/dev/null || die "redis-cli not found (Debian: apt-get install redis-tools)"

# rediss:// turns TLS on in redis-cli; REDIS_CA_FILE names the CA to trust.
TLS_ARGS=()
if [ -n "${REDIS_CA_FILE:-}" ]; then
  [[ $REDIS_URL == rediss://* ]] || die "REDIS_CA_FILE is set, but REDIS_URL is not a rediss:// (TLS) URL"
  [ -r "$REDIS_CA_FILE" ] || die "REDIS_CA_FILE: cannot read $REDIS_CA_FILE"
  TLS_ARGS=(--cacert "$REDIS_CA_FILE")
fi

# rcli ARGS...: one redis-cli command; its reply on stdout, or the error and exit 1.
rcli() {
  local out err rc=0
  err=$(mktemp)
  out=$(redis-cli -u "$REDIS_URL" "${TLS_ARGS[@]}" --no-auth-warning --raw -e "$@" 2>"$err") || rc=$?
  if [ "$rc" -ne 0 ]; then
    local msg; msg=$(cat "$err"); rm -f "$err"
    die "Redis at $(redacted_url): ${msg:-redis-cli exited with $rc}"
  fi
  rm -f "$err"
  printf '%s\n' "$out"
}

# The URL without its password, for messages.
redacted_url() {
  local url=$REDIS_URL
  if [[ $url =~ ^([a-z]+://)([^@/]*):([^@/]*)@(.*)$ ]]; then
    url="${BASH_REMATCH[1]}${BASH_REMATCH[2]}:***@${BASH_REMATCH[4]}"
  fi
  printf '%s' "$url"
}

# run_lua NAME ARGS...: EVALs lua/common.lua + lua/NAME.lua with ARGV = prefix, mode, ARGS
# and prints the reply. A reply starting with "!" is a refusal: printed on stderr, exit 1.
run_lua() {
  local name=$1 out
  shift
  out=$(rcli EVAL "$(cat "$OPS_LUA/common.lua" "$OPS_LUA/$name.lua")" 0 "$PREFIX" "$MODE" "$@") || exit $?
  if [[ $out == '!'* ]]; then die "${out#!}"; fi
  printf '%s\n' "$out"
}

# glob_escape TEXT: TEXT with SCAN pattern characters escaped.
glob_escape() {
  local s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in '[' | ']' | '*' | '?' | '\') out+="\\$c" ;; *) out+=$c ;; esac
  done
  printf '%s' "$out"
}

# The queues the services use (shared/src/jobs.rs, QueueKind::ALL).
KNOWN_QUEUES="dispatch send retry webhook callback test"

# queues: the queue names under the prefix, one a line: the services' own, any queue
# under the prefix that ever had an apalis worker (core:apalis:queues:list), and
# WAPLIFY_QUEUES. No keyspace scan, so it stays instant on a Redis holding millions of
# job keys. --queue NAME (QUEUE_ONLY) restricts every script to one queue.
queues() {
  if [ -n "${QUEUE_ONLY:-}" ]; then printf '%s\n' "$QUEUE_ONLY"; return; fi
  local name extra
  {
    printf '%s\n' $KNOWN_QUEUES
    rcli ZRANGE core:apalis:queues:list 0 -1 | while IFS= read -r name; do
      case $name in "$PREFIX":*) printf '%s\n' "${name#"$PREFIX:"}" ;; esac
    done
    IFS=', ' read -r -a extra <<<"${WAPLIFY_QUEUES:-}"
    for name in "${extra[@]}"; do printf '%s\n' "$name"; done
  } | while IFS= read -r name; do
    case $name in *:* | '') continue ;; esac
    printf '%s\n' "$name"
  done | awk '!seen[$0]++'
}

# inflight_keys: every {prefix}:{queue}:inflight:{worker} set, one a line, in one SCAN
# pass (10,000 keys a step); includes sets of workers no longer registered, which
# nothing would ever re-queue.
inflight_keys() {
  local cursor=0 reply p
  p=$(glob_escape "$PREFIX")
  while :; do
    reply=$(rcli SCAN "$cursor" MATCH "$p:*:inflight:*" COUNT 10000) || exit $?
    cursor=${reply%%$'\n'*}
    if [ "$reply" != "$cursor" ]; then printf '%s\n' "${reply#*$'\n'}"; fi
    [ "$cursor" = 0 ] && break
  done
  return 0
}

# parse_duration 90s|30m|24h|7d|45 -> seconds.
parse_duration() {
  local d=$1
  [[ $d =~ ^([0-9]+)([smhdw]?)$ ]] || die "bad duration '$d': use a number with s, m, h, d or w (90s, 30m, 24h, 7d)"
  local n=$((10#${BASH_REMATCH[1]}))
  case ${BASH_REMATCH[2]} in
    '' | s) echo "$n" ;;
    m) echo $((n * 60)) ;;
    h) echo $((n * 3600)) ;;
    d) echo $((n * 86400)) ;;
    w) echo $((n * 604800)) ;;
  esac
}

# usage TEXT: prints TEXT (the script's help) plus the common part, exits 0.
usage() {
  printf '%s\n' "$1"
  cat <<'COMMON'

Common options:
  --json          machine-readable JSON on stdout instead of columns
  -h, --help      this help
Environment: REDIS_URL (default redis://127.0.0.1:6379), WAPLIFY_QUEUE_PREFIX (default
waplify), WAPLIFY_QUEUES (extra queue names to list, comma separated).
COMMON
  exit 0
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# lines NAME CMD...: the output lines of CMD into the array NAME; exits when CMD fails.
lines() {
  local -n _into=$1
  shift
  local _out
  _out=$("$@") || exit $?
  _into=()
  if [ -n "$_out" ]; then mapfile -t _into <<<"$_out"; fi
  return 0
}

# json_str TEXT: TEXT as a JSON string.
json_str() {
  local s=$1 out='' c i o
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      '"') out+='\"' ;;
      '\') out+='\\' ;;
      $'\n') out+='\n' ;;
      $'\r') out+='\r' ;;
      $'\t') out+='\t' ;;
      *)
        printf -v o '%d' "'$c"
        if [ "$o" -lt 32 ] && [ "$o" -ge 0 ]; then printf -v c '\\u%04x' "$o"; fi
        out+=$c
        ;;
    esac
  done
  printf '"%s"' "$out"
}

# print_columns N HEADER... CELL...: N aligned columns, two spaces apart.
print_columns() {
  local n=$1 i w
  shift
  local cells=("$@") widths=()
  for ((i = 0; i < ${#cells[@]}; i++)); do
    w=${#cells[i]}
    if [ "$w" -gt "${widths[i % n]:-0}" ]; then widths[i % n]=$w; fi
  done
  for ((i = 0; i < ${#cells[@]}; i++)); do
    if [ $((i % n)) -eq $((n - 1)) ]; then
      printf '%s\n' "${cells[i]}"
    else
      printf "%-$((widths[i % n] + 2))s" "${cells[i]}"
    fi
  done
}

# sort_lines LINE...: the lines in sort(1) order.
sort_lines() { if [ $# -gt 0 ]; then printf '%s\n' "$@" | sort; fi; }
