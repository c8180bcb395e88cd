#!/usr/bin/env bash
# Starts the whole assistant on this machine: action server, scheduler, Rasa (REST, socketio,
# HTTP API with a token) and the web chat page. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
BIN=.venv/bin
RASA_PORT=${MSGOPS_RASA_PORT:-5005}
ACTIONS_PORT=${MSGOPS_ACTIONS_PORT:-5055}
WEB_PORT=${MSGOPS_WEB_PORT:-8080}
if [ -z "${MSGOPS_API_TOKEN:-}" ]; then
  [ -s var/api_token ] || $BIN/python -c 'import secrets; print(secrets.token_urlsafe(24))' > var/api_token
  MSGOPS_API_TOKEN=$(cat var/api_token)
fi
export MSGOPS_API_TOKEN MSGOPS_RASA_URL="http://localhost:${RASA_PORT}"

# The action server's port as chosen above (endpoints.yml names the default 5055).
sed "s#localhost:5055#localhost:${ACTIONS_PORT}#" "${MSGOPS_ENDPOINTS:-endpoints.yml}" > var/endpoints.active.yml

# Only channels whose secrets are set are switched on.
$BIN/python -m msgops.channels.credentials credentials.yml var/credentials.active.yml

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "stopping..."
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

$BIN/rasa run actions --actions actions --port "$ACTIONS_PORT" > var/actions.log 2>&1 &
pids+=($!)
$BIN/python -m msgops.scheduler >> var/scheduler.log 2>&1 &
pids+=($!)
$BIN/python -m msgops.webchat --port "$WEB_PORT" --rasa-url "http://localhost:${RASA_PORT}" > var/web.log 2>&1 &
pids+=($!)

echo "starting Rasa on port ${RASA_PORT} (about 20 s)..."
$BIN/rasa run --enable-api --auth-token "$MSGOPS_API_TOKEN" --cors "*" \
  --model models/msgops.tar.gz --credentials var/credentials.active.yml --endpoints var/endpoints.active.yml \
  --port "$RASA_PORT" --log-file var/rasa.log &
pids+=($!)
until curl -sf "localhost:${RASA_PORT}/" >/dev/null 2>&1; do
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "Rasa stopped; see var/rasa.log"; exit 1; }
  sleep 1
done
echo "ready."
echo "web chat:     http://localhost:${WEB_PORT}"
echo "REST channel: curl -s localhost:${RASA_PORT}/webhooks/rest/webhook -d '{\"sender\":\"me\",\"message\":\"Сколько стоит генеральная уборка?\"}' | python3 -m json.tool --no-ensure-ascii"
echo "HTTP API token: in var/api_token"
echo "logs: var/*.log; Ctrl-C stops everything"
wait "${pids[-1]}"
