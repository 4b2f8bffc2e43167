#!/usr/bin/env bash
# Starts Debian's docker-registry (CNCF Distribution) on a free loopback port
# with a temporary storage folder. Source it, then:
#   ppa_registry_start      # sets PPA_REGISTRY_HOST=127.0.0.1:<port>
#   ppa_registry_stop       # kills it and removes its storage
# With PPA_REGISTRY_TLS_CERT and PPA_REGISTRY_TLS_KEY set (PEM files: the
# server certificate, chain included, and its key) it serves HTTPS instead of
# plain HTTP; PPA_REGISTRY_SCHEME is then https (else http).
set -euo pipefail

ppa_free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$(( (RANDOM % 20000) + 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

ppa_registry_start() {
  local cert="${PPA_REGISTRY_TLS_CERT:-}" key="${PPA_REGISTRY_TLS_KEY:-}"
  if [ -n "$cert$key" ] && { [ ! -r "$cert" ] || [ ! -r "$key" ]; }; then
    echo "PPA_REGISTRY_TLS_CERT and PPA_REGISTRY_TLS_KEY must both name readable files" >&2
    return 1
  fi
  PPA_REGISTRY_DIR="$(mktemp -d /tmp/ppa-registry.XXXXXX)"
  local port
  port="$(ppa_free_port)"
  local tls=""
  PPA_REGISTRY_SCHEME=http
  if [ -n "$cert" ]; then
    PPA_REGISTRY_SCHEME=https
    tls="$(printf '  tls:\n    certificate: %s\n    key: %s' "$(realpath "$cert")" "$(realpath "$key")")"
  fi
  cat >"$PPA_REGISTRY_DIR/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $PPA_REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: ppa-import-demo
$tls
YAML
  docker-registry serve "$PPA_REGISTRY_DIR/config.yml" >"$PPA_REGISTRY_DIR/registry.log" 2>&1 &
  PPA_REGISTRY_PID=$!
  PPA_REGISTRY_HOST="127.0.0.1:$port"
  for _ in $(seq 1 100); do
    # Readiness only (-k): the caller's clients judge the certificate.
    if curl -fsSk "$PPA_REGISTRY_SCHEME://$PPA_REGISTRY_HOST/v2/" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "docker-registry did not start; its log:" >&2
  cat "$PPA_REGISTRY_DIR/registry.log" >&2
  return 1
}

ppa_registry_stop() {
  if [ -n "${PPA_REGISTRY_PID:-}" ]; then
    kill "$PPA_REGISTRY_PID" 2>/dev/null || true
    wait "$PPA_REGISTRY_PID" 2>/dev/null || true
    PPA_REGISTRY_PID=""
  fi
  [ -n "${PPA_REGISTRY_DIR:-}" ] && rm -rf "$PPA_REGISTRY_DIR"
  PPA_REGISTRY_DIR=""
}
