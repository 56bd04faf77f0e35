#!/usr/bin/env bash
# A local Synapse for `baton bench transfer --desk matrix`: installs matrix-synapse from PyPI into
# target/synapse-venv (the same virtual environment the live Matrix tests make), writes a
# loopback-only configuration with rate limits out of the way under target/bench-synapse, and
# starts it in the background. Prints the bench command to run. `bench/synapse.sh stop` stops it.
#
#   bench/synapse.sh [PORT]     (default 8448)
#   bench/synapse.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.163.2
venv=target/synapse-venv
dir=target/bench-synapse

if [ "${1:-}" = stop ]; then
  [ -f "$dir/homeserver.pid" ] && kill "$(cat "$dir/homeserver.pid")" && echo "stopped"
  exit 0
fi
port=${1:-8448}

if ! "$venv/bin/python" -c "import synapse, sys; sys.exit(synapse.__version__ != '$version')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "matrix-synapse==$version"
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ ! -f "$dir/homeserver.yaml" ]; then
  (cd "$dir" && ../synapse-venv/bin/python -m synapse.app.homeserver --server-name localhost \
    --config-path homeserver.yaml --generate-config --report-stats=no >/dev/null)
  # Later keys win: loopback only, no federation, SQLite, quick password hashing, presence on,
  # and no rate limit a benchmark would measure instead of Baton.
  unlimited="{per_second: 100000, burst_count: 100000}"
  cat >>"$dir/homeserver.yaml" <<YAML
listeners:
  - port: $port
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
trusted_key_servers: []
federation_domain_whitelist: []
bcrypt_rounds: 4
presence:
  enabled: true
rc_message: $unlimited
rc_registration: $unlimited
rc_login:
  address: $unlimited
  account: $unlimited
  failed_attempts: $unlimited
rc_joins:
  local: $unlimited
  remote: $unlimited
rc_joins_per_room: $unlimited
rc_invites:
  per_room: $unlimited
  per_user: $unlimited
  per_issuer: $unlimited
rc_presence:
  per_user: $unlimited
rc_room_creation: $unlimited
YAML
  sed -n 's/^registration_shared_secret: "\(.*\)"$/\1/p' "$dir/homeserver.yaml" >"$dir/registration-secret"
fi
port=$(sed -n 's/^  - port: \([0-9]*\)$/\1/p' "$dir/homeserver.yaml" | tail -1)
(cd "$dir" && ../synapse-venv/bin/python -m synapse.app.homeserver -c homeserver.yaml --daemonize)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/_matrix/client/versions" >/dev/null && break
  sleep 0.2
done
echo "synapse $version on http://127.0.0.1:$port; run:"
echo "  target/release/baton bench transfer --desk matrix --homeserver http://127.0.0.1:$port --registration-secret-file $dir/registration-secret"
