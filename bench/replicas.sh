#!/usr/bin/env bash
# Baton's message API behind HAProxy (round-robin, no stickiness): one server on SQLite, then 1, 2 and
# 3 replicas on one PostgreSQL database, driven by wrk in its own process with the same message mix as
# ../shared/bench (bench/wrk/baton.lua: greetings, balances, a lost card with its question, an
# appointment with a date, yes/no), in one run. Run from the project root:
#   bench/replicas.sh target/release/baton [seconds] [connections] [postgres-url]
# Needs wrk, haproxy and curl (apt-get install wrk haproxy curl) and a PostgreSQL (default: the
# machine's, postgres://postgres@127.0.0.1:5432/test); each configuration gets a fresh schema.
# Prints one RESULT line per configuration, and the PostgreSQL commits per message; then one TRANSFER
# line: `baton bench transfer --target` through the balancer (customers on every replica, agents at
# the replica holding the desk), from a customer's message to the offer on an agent's socket.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BATON=$1; SECS=${2:-10}; CONNS=${3:-64}; PG=${4:-postgres://postgres@127.0.0.1:5432/test}
EXAMPLE=${EXAMPLE:-examples/bank}
W=$(mktemp -d)
export WRK_LUA_DIR=$HERE/wrk
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; if [[ -n ${KEEP:-} ]]; then echo "kept $W"; else rm -rf "$W"; fi; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
psql_at() { psql "$PG" -qAtc "SET client_min_messages = warning; $1"; }

run() { # run LABEL N DATABASE_URL
  local label=$1 n=$2 db=$3 servers="" pids=()
  for i in $(seq 1 "$n"); do
    local p; p=$(port)
    BATON_RATE_LIMIT_PER_SECOND=0 "$BATON" serve "$EXAMPLE" --dev --listen 127.0.0.1:$p --database "$db" --config "$W/baton.toml" \
      >"$W/baton-$label-$i.log" 2>&1 &
    pids+=($!); PIDS+=($!)
    for _ in $(seq 300); do curl -sf "127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done
    servers+="    server r$i 127.0.0.1:$p check"$'\n'
  done
  local lb; lb=$(port)
  cat >"$W/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option redispatch
    retries 2
frontend baton
    bind 127.0.0.1:$lb
    acl agent_route path_beg /v1/agent/
    use_backend desk if agent_route
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
$servers
backend desk
    option httpchk GET /readyz/desk
    http-check expect status 200
    default-server inter 500ms fall 1 rise 1
$servers
CFG
  haproxy -db -f "$W/haproxy.cfg" >"$W/haproxy.log" 2>&1 & local hp=$!; PIDS+=($hp)
  for _ in $(seq 100); do curl -sf "127.0.0.1:$lb/readyz" >/dev/null && break; sleep 0.1; done
  sleep 1.5
  # Transfers: customers through the balancer (so on every replica), agents at the desk's holder;
  # from each customer's message to the offer on an agent's socket. Before the message mix, whose
  # sessions may end in transfers of their own.
  for _ in $(seq 50); do curl -sf "127.0.0.1:$lb/readyz/desk" >/dev/null && break; sleep 0.1; done
  "$BATON" bench transfer --assistant "$EXAMPLE" --target "http://127.0.0.1:$lb" --database "$db" \
    --customers "${TRANSFER_CUSTOMERS:-400}" --agents 20 --rate "${TRANSFER_RATE:-100}" --json >"$W/transfer.json" || true
  python3 - "$label" "$n" "$W/transfer.json" <<'PY'
import json, sys
label, n, path = sys.argv[1:]
try:
    r = json.load(open(path))
    print(f"{label} replicas={n} TRANSFER offers={r['offers']} missing={r['missing_offers']} errors={r['errors']} "
          f"offer_p50_ms={r['offer_p50_ms']:.1f} offer_p99_ms={r['offer_p99_ms']:.1f} reply_p99_ms={r['reply_p99_ms']:.1f}")
except Exception as error:
    print(f"{label} replicas={n} TRANSFER failed: {error}")
PY
  : > "$W/sessions"
  for _ in $(seq 1 "$CONNS"); do
    curl -sf -XPOST "127.0.0.1:$lb/v2/assistants/bank/environments/live/sessions?version=2024-08-25" \
      | python3 -c 'import sys,json; print(json.load(sys.stdin)["session_id"])' >> "$W/sessions"
  done
  local commits_before=0
  if [[ $db == postgres* ]]; then commits_before=$(psql_at "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"); fi
  local result; result=$(WRK_SESSIONS=$W/sessions wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$HERE/wrk/baton.lua" "http://127.0.0.1:$lb" 2>&1 | grep RESULT)
  local extra=""
  if [[ $db == postgres* ]]; then
    local commits_after requests
    commits_after=$(psql_at "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$result")
    extra=$(python3 -c "print(f' pg_commits_per_message={($commits_after - $commits_before) / max($requests, 1):.2f}')")
  fi
  echo "$label replicas=$n $result$extra"
  kill "$hp" "${pids[@]}" 2>/dev/null || true
  wait "$hp" "${pids[@]}" 2>/dev/null || true
}

# The transfer bench logs its agents in from one address: no login limit either.
printf '[login_rate_limit]\nper_second = 0\n' > "$W/baton.toml"
run sqlite 1 "sqlite://$W/bench.db"
for n in ${REPLICAS:-1 2 3}; do
  schema=baton_bench_$$_$n
  psql_at "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema"
  sep='?'; [[ $PG == *\?* ]] && sep='&'
  run postgres "$n" "$PG${sep}options=-csearch_path%3D$schema"
  psql_at "DROP SCHEMA $schema CASCADE"
done
