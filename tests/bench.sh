#!/usr/bin/env bash
# Allot's benchmarks, each a ratio against a baseline measured in the same
# run (a bare tonic server, pgbench on the same PostgreSQL). Installs h2load
# and PostgreSQL when missing, starts PostgreSQL with default durability on
# loopback, and runs a release build.
#
#   bash tests/bench.sh                  race, check, assign and watch
#   bash tests/bench.sh check            one of them
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/lib.sh

EXTRA=()
command -v h2load >/dev/null || EXTRA+=(nghttp2-client)
command -v pgbench >/dev/null || EXTRA+=(postgresql-contrib)
need_tools ${EXTRA[@]+"${EXTRA[@]}"}
start_postgres -c max_connections=400
cargo bench -p allot --bench allot --locked -- "$@"
