#!/bin/bash
# What restoring a warmed JVM from a CRIU checkpoint would give a cold start: starts the image
# service (no agent) pinned to CPU 0, times its start to the first thumbnail response, warms it
# with 300 requests, checkpoints it (which ends it), restores it and times the restore to its
# first thumbnail response. `--lazy` restores with lazy pages (userfaultfd): memory pages are
# loaded as the process touches them. Needs root, `make build` and `make criu`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
criu=$root/target/criu/criu-4.1.1/criu/criu   # make criu
lazy=${1:-}
port=9185
url="http://127.0.0.1:$port/images/thumbnails/4?seed=1&size=32"
dir=$(mktemp -d /tmp/semifaas-criu-XXXXXX)
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

start=$(date +%s%N)
# setsid: the checkpointed tree must not share the shell's session.
setsid taskset -c 0 java -XX:-UsePerfData -XX:+UseSerialGC -XX:ActiveProcessorCount=1 \
  -jar "$root/dist/samples/image-service.jar" --server.port=$port </dev/null >"$dir/app.log" 2>&1 &
pid=$!
until curl -sf -o /dev/null "$url"; do sleep 0.005; done
app_ms=$(ms "$start")
for _ in $(seq 300); do curl -s -o /dev/null "$url"; done
sleep 1
"$criu" dump -t "$pid" -D "$dir" --tcp-established -o dump.log
size=$(du -sm "$dir" | cut -f1)
sync
start=$(date +%s%N)
if [ "$lazy" = "--lazy" ]; then
  "$criu" lazy-pages -D "$dir" -o lazy.log &
  "$criu" restore -D "$dir" --tcp-established --lazy-pages -d -o restore.log
else
  "$criu" restore -D "$dir" --tcp-established -d -o restore.log
fi
restored_ms=$(ms "$start")
until curl -sf -o /dev/null "$url"; do sleep 0.001; done
first_ms=$(ms "$start")
warm=$(curl -s -o /dev/null -w "%{time_total}" "$url")
pkill -f "server.port=$port" || true
echo "application start to first response: $app_ms ms"
echo "checkpoint: $size MB; restore ${lazy:-(eager)}: $restored_ms ms, to first response: $first_ms ms (next request ${warm}s)"
echo "ratio: $(( app_ms / first_ms ))x"
rm -rf "$dir"
