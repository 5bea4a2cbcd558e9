# Shared by run-all.sh and bench.sh: installs what is missing and starts
# PostgreSQL on loopback with its data in a temporary folder,
# stopping everything on exit. Source it; then call need_tools and
# start_postgres.

say() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

WORK=$(mktemp -d /tmp/allot-test.XXXXXX)
chmod 755 "$WORK"
PGDATA="$WORK/pg"
PG_BIN=""
cleanup() {
  set +e
  if [ -n "$PG_BIN" ] && [ -f "$PGDATA/postmaster.pid" ]; then
    as_root runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Debian packages and Python tools; extra Debian packages as arguments.
need_tools() {
  say "checking tools"
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  local apt=("$@")
  { [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ]; } || apt+=(postgresql)
  command -v nats-server >/dev/null || apt+=(nats-server)
  command -v docker-compose >/dev/null || apt+=(docker-compose)
  command -v python3 >/dev/null || apt+=(python3 python3-venv)
  [ -x /usr/sbin/nginx ] || apt+=(nginx)
  # The console's tests drive Debian's Chromium over WebDriver.
  { command -v chromium >/dev/null && command -v chromedriver >/dev/null; } || apt+=(chromium chromium-driver)
  command -v openssl >/dev/null || apt+=(openssl)
  if [ ${#apt[@]} -gt 0 ]; then
    say "installing ${apt[*]} (apt)"
    # Packages must not start servers of their own (nginx would listen on
    # every interface): the tests start what they need on loopback.
    local policy=/usr/sbin/policy-rc.d made_policy=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
      as_root chmod 755 "$policy"
      made_policy=1
    fi
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt[@]}" >/dev/null
    if [ -n "$made_policy" ]; then as_root rm -f "$policy"; fi
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  fi
  # Python tools live in a virtual environment of their own.
  VENV="${ALLOT_TEST_VENV:-$HOME/.cache/allot-test-venv}"
  if ! "$VENV/bin/python" -c "import aiosmtpd, grpc, grpc_health, grpc_reflection, yaml" 2>/dev/null \
     || [ ! -x "$VENV/bin/buf" ]; then
    say "installing aiosmtpd, grpcio tools, PyYAML and buf (pip)"
    python3 -m venv "$VENV" 2>/dev/null || {
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$VENV"
    }
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      aiosmtpd grpcio grpcio-health-checking grpcio-reflection pyyaml buf-bin
  fi
  export ALLOT_TEST_PYTHON="$VENV/bin/python"
  export PATH="$VENV/bin:$PATH"
}

# A CA and a certificate for 127.0.0.1 signed by it, for PostgreSQL's TLS
# (the deployed tests connect with sslmode=verify-full against the CA).
postgres_tls() {
  local d="$WORK/pg-tls"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=Allot test PostgreSQL CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
  as_root chown postgres "$d/server.key" "$d/server.pem"
  chmod 600 "$d/server.key"
  PG_TLS="$d"
}

# PostgreSQL on a free loopback port, speaking TLS to those who ask; extra
# server options as arguments.
start_postgres() {
  say "starting PostgreSQL ($PG_BIN)"
  local port
  port=$(free_port)
  postgres_tls
  as_root install -d -o postgres -g postgres -m 700 "$PGDATA"
  as_root runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  as_root runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-p $port -k $PGDATA -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$PG_TLS/server.pem -c ssl_key_file=$PG_TLS/server.key $*" start >/dev/null
  export ALLOT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port"
  export ALLOT_TEST_POSTGRES_CA="$PG_TLS/ca.pem"
}

