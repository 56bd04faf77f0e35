#!/usr/bin/env bash
# Instructions the server executes per message, counted by callgrind (valgrind): deterministic, so
# it shows a change to the turn path that a throughput run on a shared 2-core machine cannot.
# BATON serves examples/bank; after a warm-up (8 sessions, 48 messages) the counters are zeroed,
# 8 more sessions are created and MSGS messages of ../shared/bench/baton.lua's mix are sent one at
# a time (python3, one keep-alive connection), and the dumped total is divided by MSGS.
# Run from the repository root: bench/instructions-per-message.sh [BATON] [MSGS]
# Needs valgrind (apt-get install valgrind) and a release build (cargo build --release -p baton).
set -euo pipefail
BATON=${1:-target/release/baton}; MSGS=${2:-384}
W=$(mktemp -d); P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BATON_RATE_LIMIT_PER_SECOND=0 valgrind --tool=callgrind --callgrind-out-file=$W/cg.%p "$BATON" serve examples/bank --dev --listen 127.0.0.1:$P --database "sqlite://$W/b.db" >$W/log 2>&1 & VP=$!
for _ in $(seq 600); do curl -sf "127.0.0.1:$P/healthz" >/dev/null && break; sleep 0.2; done
drive() { python3 - "$P" "$1" <<'PY'
import sys, json, http.client
port, n = int(sys.argv[1]), int(sys.argv[2])
msgs = ["hello", "what is my balance", "what time do you open", "I lost my card", "debit",
  "thanks", "can I book an appointment", "tomorrow at 10am", "yes", "what can you do",
  "I want to check my savings balance", "bye"]
c = http.client.HTTPConnection("127.0.0.1", port)
q = "?version=2024-08-25"
sessions = []
for _ in range(8):
    c.request("POST", "/v2/assistants/bank/environments/live/sessions" + q, body=b"", headers={"Content-Type": "application/json"})
    sessions.append(json.loads(c.getresponse().read())["session_id"])
for i in range(n):
    s = sessions[i % 8]
    body = json.dumps({"input": {"text": msgs[(i // 8) % len(msgs)]}})
    c.request("POST", f"/v2/assistants/bank/environments/live/sessions/{s}/message" + q, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read(); assert r.status == 200, r.status
PY
}
drive 48
callgrind_control -z $VP >/dev/null
drive "$MSGS"
callgrind_control -d $VP >/dev/null
sleep 1
kill $VP; wait $VP 2>/dev/null || true
total=$(grep -h '^summary:\|^totals:' $W/cg.$VP.1 | head -1 | awk '{print $2}')
echo "instructions per message: $(( total / MSGS )) (total $total over $MSGS messages; 8 session creations included)"
[ -n "${KEEP:-}" ] && cp $W/cg.$VP.1 "$KEEP"
rm -rf $W
