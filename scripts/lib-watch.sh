# campaign --watch: a campaign's progress read from GET /api/v1/campaigns/{id}/stats
# every INTERVAL seconds until it ends. On a terminal one line is redrawn in place (a
# bar, the funnel, the rate and the time left); otherwise a plain line is printed each
# time the numbers change. Sourced by scripts/campaign after lib-redis.sh (the stats
# body is read by its Lua, so Redis is the only JSON reader needed).

# group N: N with thousands separated by commas.
group() {
  local n=$1 out=''
  while [ ${#n} -gt 3 ]; do out=",${n: -3}$out"; n=${n:0:${#n}-3}; done
  printf '%s%s' "$n" "$out"
}

# clock SECS: 0:42, 12:05, 3:02:10.
clock() {
  local s=$1
  if [ "$s" -ge 3600 ]; then
    printf '%d:%02d:%02d' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  else
    printf '%d:%02d' $((s / 60)) $((s % 60))
  fi
}

# bar DONE TOTAL WIDTH: [#######-------]
bar() {
  local done=$1 total=$2 width=$3 fill=0 i out=''
  [ "$total" -gt 0 ] && fill=$((done * width / total))
  for ((i = 0; i < width; i++)); do
    if [ "$i" -lt "$fill" ]; then out+='#'; else out+='-'; fi
  done
  printf '[%s]' "$out"
}

now_ms() { date +%s%3N; }

# watch_campaign ID INTERVAL: exits 0 when the campaign completes, 3 when it ends
# failed or cancelled, 1 when the API refuses (unknown campaign, bad key).
watch_campaign() {
  local id=$1 interval=$2 tty=no
  [ -t 1 ] && tty=yes
  local -a times=() dones=()
  local last='' code body status total sent delivered read failed cancelled
  while :; do
    if ! body=$(curl -sS --max-time 10 -H "Authorization: Bearer $WAPLIFY_API_KEY" \
      -w $'\n%{http_code}' "$API_BASE/api/v1/campaigns/$id/stats" 2>&1); then
      watch_line "$tty" "API unreachable (${body%%$'\n'*}); trying again every ${interval}s"
      sleep "$interval"
      continue
    fi
    code=${body##*$'\n'} body=${body%$'\n'*}
    case $code in
      200) ;;
      5??) watch_line "$tty" "API answered $code; trying again every ${interval}s"; sleep "$interval"; continue ;;
      *) [ "$tty" = yes ] && printf '\n'; die "GET $API_BASE/api/v1/campaigns/$id/stats: HTTP $code ${body:0:300}" ;;
    esac
    local -a row
    lines row run_lua campaign_watch "$body"
    IFS=$'\t' read -r status total sent delivered read failed cancelled <<<"${row[0]}"
    local settled=$((sent + failed + cancelled)) t
    t=$(now_ms)
    times+=("$t") dones+=("$settled")
    # The rate over the last ten seconds or so of samples.
    while [ ${#times[@]} -gt 2 ] && [ $((t - times[1])) -ge 10000 ]; do
      times=("${times[@]:1}") dones=("${dones[@]:1}")
    done
    local rate='' eta='' span=$((t - times[0])) moved=$((settled - dones[0]))
    if [ "$span" -gt 0 ] && [ "$moved" -gt 0 ]; then
      rate=$((moved * 1000 / span))
      [ "$rate" -gt 0 ] && eta=$(((total - settled) / rate))
    fi
    local pct=0
    [ "$total" -gt 0 ] && pct=$((settled * 100 / total))
    local text
    text="$(printf '%-9s %s %3d%%  sent %s  delivered %s  read %s  failed %s' "$status" \
      "$(bar "$settled" "$total" 24)" "$pct" "$(group "$sent")" "$(group "$delivered")" \
      "$(group "$read")" "$(group "$failed")")"
    [ "$cancelled" -gt 0 ] && text+="  cancelled $(group "$cancelled")"
    text+="  of $(group "$total")"
    case $status in
      completed | failed | cancelled) ;;
      *)
        if [ -n "$rate" ]; then text+="  $(group "$rate")/s  ETA $(clock "$eta")"; else text+='  -/s'; fi
        ;;
    esac
    if [ "$tty" = yes ] || [ "$text" != "$last" ]; then watch_line "$tty" "$text"; fi
    last=$text
    case $status in
      completed) [ "$tty" = yes ] && printf '\n'; return 0 ;;
      failed | cancelled) [ "$tty" = yes ] && printf '\n'; return 3 ;;
    esac
    sleep "$interval"
  done
}

# watch_line TTY TEXT: redrawn in place on a terminal, a plain timestamped line otherwise.
watch_line() {
  if [ "$1" = yes ]; then
    printf '\r\033[K%s' "$2"
  else
    printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$2"
  fi
}
