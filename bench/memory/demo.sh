#!/usr/bin/env bash
# Memory of `inquest serve --demo` over time: RSS from /proc, the Go heap in
# use and the events written from /metrics, every INTERVAL seconds for
# MINUTES minutes (BENCHMARKS.md, "Memory: the demo for 10 minutes").
#
#   bench/memory/demo.sh [MINUTES] [INTERVAL]
set -euo pipefail
minutes=${1:-10}
interval=${2:-30}
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)/inquest
data=$(mktemp -d)
go build -o "$bin" ./cmd/inquest
"$bin" serve --demo --data-dir "$data" --http-addr 127.0.0.1:18080 --grpc-addr 127.0.0.1:14317 --otlp-http-addr 127.0.0.1:14318 >"$data/log" 2>&1 &
pid=$!
stop() {
  kill -TERM $pid 2>/dev/null || true
  status=0
  wait $pid || status=$?
  echo "SIGTERM: the server exited with status $status"
  rm -rf "$data" "$(dirname "$bin")"
}
trap stop EXIT
until curl -sf 127.0.0.1:18080/readyz >/dev/null; do sleep 0.2; done
metric() { curl -s 127.0.0.1:18080/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
printf '%-8s %-10s %-14s %s\n' minute rss_mb heap_inuse_mb events_written
start=$(date +%s)
while :; do
  now=$(date +%s)
  rss=$(awk '/^VmRSS/ { print int($2 / 1024) }' /proc/$pid/status)
  heap=$(metric go_memstats_heap_inuse_bytes)
  events=$(metric 'inquest_writer_rows_total{table="events"}')
  awk -v t=$((now - start)) -v rss="$rss" -v heap="${heap:-0}" -v ev="${events:-0}" \
    'BEGIN { printf "%-8.1f %-10s %-14.0f %d\n", t / 60, rss, heap / 1048576, ev }'
  [ $((now - start)) -ge $((minutes * 60)) ] && break
  sleep "$interval"
done
