#!/usr/bin/env bash
# N replicas of the assistant on one host, without Docker, behind haproxy (docs/production.md):
#
#   ASSISTANT_STORES=production POSTGRES_PASSWORD=... RABBITMQ_PASSWORD=... make replicas
#
# Each replica is an action server and Rasa (`python -m runtime run`, a worker per core) on ports
# of its own, calling its own action server; haproxy on FRONT_PORT spreads messages over them
# (round robin, no sticky sessions) and takes out of rotation a replica that is not ready
# (GET /health/ready). Replicas share the stores ASSISTANT_STORES chooses: production stores, or
# on one host the embedded SQLite file (ASSISTANT_SQLITE_DB), whose lock every process shares.
# Ctrl-C or SIGTERM stops everything it started. Settings (environment): REPLICAS (2),
# FRONT_PORT (8080), RASA_BASE_PORT (5100: replicas on 5101, 5102, ...), ACTIONS_BASE_PORT
# (5200), RUN_DIR (build/replicas: the generated files), PYTHON (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
REPLICAS=${REPLICAS:-2}
FRONT_PORT=${FRONT_PORT:-8080}
RASA_BASE_PORT=${RASA_BASE_PORT:-5100}
ACTIONS_BASE_PORT=${ACTIONS_BASE_PORT:-5200}
RUN_DIR=${RUN_DIR:-build/replicas}
PYTHON=${PYTHON:-.venv/bin/python}
MODEL=${MODEL:-models/assistant.tar.gz}
command -v haproxy >/dev/null || { echo "haproxy is missing (apt-get install haproxy)"; exit 1; }
test -f "$MODEL" || { echo "$MODEL is missing: make train"; exit 1; }
mkdir -p "$RUN_DIR"
# Every replica gets the same secrets: from the environment, else .env (generated when missing).
eval "$("$PYTHON" -m runtime.tokens .env)"
"$PYTHON" -m envtemplate credentials "$RUN_DIR/credentials.yml"

stop() {
  trap - EXIT INT TERM
  kill $(jobs -p) 2>/dev/null || true
  wait
}
trap stop EXIT INT TERM

servers=""
for i in $(seq 1 "$REPLICAS"); do
  rasa_port=$((RASA_BASE_PORT + i)) actions_port=$((ACTIONS_BASE_PORT + i))
  "$PYTHON" -m actions.server --actions actions --port "$actions_port" &
  (
    export ACTION_SERVER_URL="http://127.0.0.1:$actions_port/webhook"
    "$PYTHON" -m envtemplate endpoints "$RUN_DIR/endpoints-$i.yml"
    exec "$PYTHON" -m runtime run --model "$MODEL" --port "$rasa_port" \
      --endpoints "$RUN_DIR/endpoints-$i.yml" --credentials "$RUN_DIR/credentials.yml"
  ) &
  servers="$servers  server rasa$i 127.0.0.1:$rasa_port check inter 2s fall 3 rise 1"$'\n'
done

cat > "$RUN_DIR/haproxy.cfg" <<CONFIG
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout check 2s
  retries 3
  option redispatch
frontend rasa
  bind :$FRONT_PORT
  option forwardfor
  default_backend rasa
backend rasa
  balance roundrobin
  option httpchk GET /health/ready
$servers
CONFIG
haproxy -db -f "$RUN_DIR/haproxy.cfg" &
echo "$REPLICAS replicas behind haproxy on :$FRONT_PORT (Rasa on $((RASA_BASE_PORT + 1))..." \
     "$((RASA_BASE_PORT + REPLICAS))). Ctrl-C stops them all."
wait -n  # any server exiting stops the rest
