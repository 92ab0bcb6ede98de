#!/usr/bin/env bash
# The encrypted mode's figures of docs/performance.md (issue 15's targets), on this machine:
# 3,000 tablets, the demo's 7 → 5 票决 (per_item, M = 7, N = 5), encrypted, each run against a
# fresh demo appliance (release build): all at once, spread over 30 s, and spread over 60 s
# with two scrutineers' watch loops verifying during the window. For each run: the loadtest's
# summary line, the watchers' catch-up, the server's peak RSS (VmHWM), the bundle's size, and
# `piaojue verify` of it timed on its own.
# Usage: bash benches/loadtest-encrypted.sh [runs] [tablets]   (defaults 1, 3000)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
n=${2:-3000}
cargo build --release --locked -q
bin=target/release/piaojue
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 20000 2>/dev/null || true
for cfg in "burst 0" "spread:30 0" "spread:60 2"; do
  set -- $cfg
  arrival=$1 watchers=$2
  for r in $(seq "$runs"); do
    data="$work/d-$r-${arrival/:/-}"
    port=$((20000 + RANDOM % 20000))
    $bin serve --demo --demo-deputies "$n" --data "$data" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
    server=$!
    until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.2; done
    echo "# encrypted tablets=$n arrival=$arrival watchers=$watchers run=$r"
    $bin loadtest --url "http://127.0.0.1:$port" --data "$data" --tablets "$n" --arrival "$arrival" \
      --encrypted --watchers "$watchers" 2>"$work/lt.err" | tail -1
    grep -E "proved|watcher" "$work/lt.err" || true
    echo "server peak RSS: $(awk '/VmHWM/ {printf "%.1f MB", $2/1024}' /proc/$server/status)"
    vote=$(curl -sf "http://127.0.0.1:$port/api/public/votes" | python3 -c 'import json,sys; print([v["id"] for v in json.load(sys.stdin)["votes"] if v.get("mode")=="encrypted" and v["state"]=="announced"][0])')
    curl -sf "http://127.0.0.1:$port/api/public/votes/$vote/bundle" -o "$work/bundle.json"
    python3 - "$work/bundle.json" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
body = base64.b64decode(env["body"])
v = json.loads(body)["votes"][0]
print(f"bundle: envelope {len(open(sys.argv[1],'rb').read())/1e6:.1f} MB, body (JSON) {len(body)/1e6:.1f} MB, {len(v['ballots'])} ballots")
PY
    start=$(date +%s.%N)
    $bin verify "$work/bundle.json" >/dev/null && ok=ok || ok=FAIL
    echo "piaojue verify: $ok in $(python3 -c "import time; print(round((time.time()-$start)*1000))") ms"
    kill "$server"; wait "$server" 2>/dev/null || true
  done
done
