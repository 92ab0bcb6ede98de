#!/usr/bin/env bash
# The figures of docs/performance.md, on this machine: 300 and 3,000 tablets, all at once and
# spread over 10 s, each against a fresh demo appliance (release build). The floor without
# HTTP is `cargo bench --bench floor`, run by hand in the same session.
# Usage: bash benches/loadtest.sh [runs]   (each configuration `runs` times, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release --locked -q
bin=target/release/piaojue
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 20000 2>/dev/null || true
for n in 300 3000; do
  for arrival in burst spread:10; do
    for r in $(seq "$runs"); do
      data="$work/d-$n-$r-${arrival/:/-}"
      port=$((20000 + RANDOM % 20000))
      $bin serve --demo --demo-deputies "$n" --data "$data" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
      server=$!
      until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
      echo "# tablets=$n arrival=$arrival run=$r"
      $bin loadtest --url "http://127.0.0.1:$port" --data "$data" --tablets "$n" --arrival "$arrival" | tail -1
      kill "$server"; wait "$server" 2>/dev/null || true
    done
  done
done
