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
  # Loopback only, no federation, quick password hashing, presence on, and no rate limit a
  # benchmark would measure instead of Baton; the generated secrets and SQLite database are kept.
  "$venv/bin/python" - "$dir/homeserver.yaml" "$port" <<'PY'
import sys, yaml
path, port = sys.argv[1], int(sys.argv[2])
config = yaml.safe_load(open(path))
unlimited = {"per_second": 100000, "burst_count": 100000}
config.update({
    "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                   "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}],
    "trusted_key_servers": [], "federation_domain_whitelist": [], "bcrypt_rounds": 4,
    "presence": {"enabled": True},
    "rc_message": unlimited, "rc_registration": unlimited,
    "rc_login": {"address": unlimited, "account": unlimited, "failed_attempts": unlimited},
    "rc_joins": {"local": unlimited, "remote": unlimited}, "rc_joins_per_room": unlimited,
    "rc_invites": {"per_room": unlimited, "per_user": unlimited, "per_issuer": unlimited},
    "rc_presence": {"per_user": unlimited}, "rc_room_creation": unlimited,
})
yaml.safe_dump(config, open(path, "w"))
open(path.replace("homeserver.yaml", "registration-secret"), "w").write(config["registration_shared_secret"])
PY
fi
port=$("$venv/bin/python" -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['listeners'][0]['port'])" "$dir/homeserver.yaml")
(cd "$dir" && ../synapse-venv/bin/python -m synapse.app.homeserver -c homeserver.yaml --daemonize)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/_matrix/client/versions" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/_matrix/client/versions" >/dev/null || { echo "synapse did not answer; see $dir/homeserver.log"; exit 1; }
echo "synapse $version on http://127.0.0.1:$port; run:"
echo "  target/release/baton bench transfer --desk matrix --homeserver http://127.0.0.1:$port --registration-secret-file $dir/registration-secret"
