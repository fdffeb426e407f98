#!/usr/bin/env bash
# Rough server CPU time per request type: starts the built jar, warms each request up, then
# divides the JVM's user+system CPU ticks over 50 sequential requests. Needs curl and Linux /proc.
set -euo pipefail
cd "$(dirname "$0")"
PORT="${PORT:-18471}"
BASE="http://127.0.0.1:$PORT"
java -jar target/image-service.jar --server.port="$PORT" >/dev/null 2>&1 &
PID=$!
trap 'kill "$PID"' EXIT
for _ in $(seq 1 60); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.5; done
work=$(mktemp -d)
curl -sf "$BASE/images/generate/1024/768?seed=1" -o "$work/large.png"
curl -sf "$BASE/images/generate/512/384?seed=2" -o "$work/small.png"
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
measure() {
    local name=$1 n=50
    shift
    for _ in $(seq 1 20); do "$@" >/dev/null; done
    local before after
    before=$(ticks)
    for _ in $(seq 1 "$n"); do "$@" >/dev/null; done
    after=$(ticks)
    echo "$name: $(((after - before) * 1000 / $(getconf CLK_TCK) / n)) ms CPU/request"
}
post() { curl -sf -H 'Content-Type: application/octet-stream' --data-binary "@$work/$1" "$BASE$2"; }
measure "generate 512x384" curl -sf "$BASE/images/generate/512/384?seed=1"
measure "generate 1024x768" curl -sf "$BASE/images/generate/1024/768?seed=1"
measure "resize 512x384 -> 256x192" post small.png "/images/resize?width=256&height=192"
measure "resize 1024x768 -> 640x480" post large.png "/images/resize?width=640&height=480"
measure "blur radius 8, 512x384" post small.png "/images/blur/8"
measure "thumbnails 16 x 96 px" curl -sf "$BASE/images/thumbnails/16?seed=3&size=96"
measure "histogram 512x384" post small.png "/images/histogram"
measure "histogram 1024x768" post large.png "/images/histogram"
measure "health" curl -sf "$BASE/health"
rm -r "$work"
