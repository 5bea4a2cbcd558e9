#!/usr/bin/env bash
# Runs every check and test of Allot. On a fresh Debian machine with only
# the Rust toolchain it installs what is missing (PostgreSQL, NATS, nginx,
# Chromium and ChromeDriver, Python SMTP and gRPC tools, buf,
# docker-compose), starts the servers on loopback
# with their data in a temporary folder, runs everything, and stops them.
#
#   bash tests/run-all.sh            everything
#   bash tests/run-all.sh -- NAME    only tests whose name contains NAME
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/lib.sh

FILTER=()
if [ "${1:-}" = "--" ]; then shift; FILTER=("$@"); fi

need_tools

# ---- cheap checks first ----------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check

say "buf lint"
(cd proto && buf lint)

say "docker-compose file (secrets required, loopback ports, pinned images, keys)"
python3 tests/compose_check.py

# ---- servers on loopback ---------------------------------------------------
# Durability off: tests measure behaviour, not the disk.
start_postgres -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off
# NATS (installed above) is started by the tests that need it, each its own.

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
