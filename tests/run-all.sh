#!/usr/bin/env bash
# Runs every check and test of Allot. On a fresh Debian machine with only
# the Rust toolchain it installs what is missing (PostgreSQL, NATS, Python
# SMTP and gRPC tools, buf, docker-compose), starts the servers on loopback
# with their data in a temporary folder, runs everything, and stops them.
#
#   bash tests/run-all.sh            everything
#   bash tests/run-all.sh -- NAME    only tests whose name contains NAME
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

FILTER=()
if [ "${1:-}" = "--" ]; then shift; FILTER=("$@"); fi

say() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

WORK=$(mktemp -d /tmp/allot-test.XXXXXX)
chmod 755 "$WORK"
PGDATA="$WORK/pg"
NATS_PID=""
cleanup() {
  set +e
  if [ -f "$PGDATA/postmaster.pid" ]; then
    as_root runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1
  fi
  [ -n "$NATS_PID" ] && kill "$NATS_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- what is missing gets installed ----------------------------------------
say "checking tools"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
APT=()
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || APT+=(postgresql)
command -v nats-server >/dev/null || APT+=(nats-server)
command -v docker-compose >/dev/null || APT+=(docker-compose)
command -v python3 >/dev/null || APT+=(python3 python3-venv)
if [ ${#APT[@]} -gt 0 ]; then
  say "installing ${APT[*]} (apt)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT[@]}" >/dev/null
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi

# Python tools live in a virtual environment of their own.
VENV="${ALLOT_TEST_VENV:-$HOME/.cache/allot-test-venv}"
if ! "$VENV/bin/python" -c "import aiosmtpd, grpc, grpc_health, grpc_reflection" 2>/dev/null \
   || [ ! -x "$VENV/bin/buf" ]; then
  say "installing aiosmtpd, grpcio tools and buf (pip)"
  python3 -m venv "$VENV" 2>/dev/null || {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    aiosmtpd grpcio grpcio-health-checking grpcio-reflection buf-bin
fi
export ALLOT_TEST_PYTHON="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"

# ---- cheap checks first ----------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check

say "buf lint"
(cd proto && buf lint)

say "docker-compose config"
docker-compose -f docker-compose.yml config -q

# ---- servers on loopback ---------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

say "starting PostgreSQL ($PG_BIN)"
PG_PORT=$(free_port)
as_root install -d -o postgres -g postgres -m 700 "$PGDATA"
as_root runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-sync >/dev/null
as_root runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
  -o "-p $PG_PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null
export ALLOT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT"

say "starting NATS JetStream"
NATS_PORT=$(free_port)
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$WORK/nats" >"$WORK/nats.log" 2>&1 &
NATS_PID=$!
export ALLOT_TEST_NATS_URL="nats://127.0.0.1:$NATS_PORT"

# ---- build, lint, test -----------------------------------------------------
say "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "cargo build"
cargo build --workspace --all-targets --locked

say "tests (SQLite and PostgreSQL)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast --test-threads 4 \
    ${FILTER[@]+"${FILTER[@]}"}
else
  cargo test --workspace --locked --no-fail-fast ${FILTER[@]+"${FILTER[@]}"}
fi

say "all checks and tests passed"
