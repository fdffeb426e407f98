#!/usr/bin/env bash
# CPU time per request type: starts the blog with RequestCpuLog at DEBUG, warms it up, sends N
# requests of each type and averages the request threads' CPU time per route (handler, JSON/HTML
# writing and Tomcat's part on that thread; GC and JIT threads are not counted).
set -euo pipefail
cd "$(dirname "$0")"
JAR=${JAR:-target/blog.jar}
PORT=${PORT:-18232}
N=${N:-200}
BASE="http://127.0.0.1:$PORT"
JAR_LOG=$(mktemp)
COOKIES=$(mktemp)

java -jar "$JAR" --server.port="$PORT" \
  --logging.level.io.semifaas.samples.blog.web.RequestCpuLog=debug >"$JAR_LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -f "$JAR_LOG" "$COOKIES"' EXIT
until curl -sf "$BASE/health" >/dev/null; do
  kill -0 $PID 2>/dev/null || { cat "$JAR_LOG"; exit 1; }
  sleep 0.5
done

login() { curl -sf -c "$COOKIES" -b "$COOKIES" -d username=alice -d password=alice "$BASE/login" >/dev/null; }
json() { curl -sf -c "$COOKIES" -b "$COOKIES" -H 'content-type: application/json' "$@" >/dev/null; }

# name, then a command sent N times ($i is the iteration number)
declare -a NAMES=(health login list-api get-api page-list page-post stats create-post comment edit-post)
run() {
  case "$1" in
    health) curl -sf "$BASE/health" >/dev/null ;;
    login) login ;;
    list-api) curl -sf "$BASE/api/posts" >/dev/null ;;
    get-api) curl -sf -b "$COOKIES" "$BASE/api/posts/1" >/dev/null ;;
    page-list) curl -sf -b "$COOKIES" "$BASE/posts" >/dev/null ;;
    page-post) curl -sf -b "$COOKIES" "$BASE/posts/2" >/dev/null ;;
    stats) curl -sf "$BASE/api/stats" >/dev/null ;;
    # Each body differs (the iteration number), so every render misses the cache.
    create-post) json -d "{\"title\":\"Measured $2\",\"body\":\"$(body "$2")\"}" "$BASE/api/posts" ;;
    comment) json -d "{\"body\":\"comment $2\"}" "$BASE/api/posts/3/comments" ;;
    edit-post) json -X PUT -d "{\"title\":\"Edited $2\",\"body\":\"$(body "edit $2")\"}" "$BASE/api/posts/1" ;;
  esac
}
# A ~600-word markdown body (JSON-escaped): sections of prose, a list and a code block.
PARA='Most web services spend their time waiting on the database, on another service or on the network. A few handlers parse, render or compute, and when traffic bursts those are the ones that queue up behind each other.'
BODY_TEXT='# Measured post\n\n'
for s in 1 2 3 4 5 6; do
  BODY_TEXT+="## Part $s\\n\\n$PARA Section $s adds its own words.\\n\\n$PARA\\n\\n- item $s\\n- https://example.org/$s\\n\\n"
  BODY_TEXT+='```java\nint count(String text) {\n  return text.split(\" \").length; // words\n}\n```\n\n'
done
body() { printf '%s\\n\\nrevision %s' "$BODY_TEXT" "$1"; }

login
for name in "${NAMES[@]}"; do # warm-up: let the JIT see every path
  for i in $(seq 1 30); do run "$name" "w$i"; done
done
# Post 1 is alice's, so alice may edit it; creates add posts, so reads run first.
echo "$(curl -sf "$BASE/api/posts" | grep -o '"id"' | wc -l) posts before measuring, N=$N"
FROM=$(($(wc -l <"$JAR_LOG") + 1))
for name in "${NAMES[@]}"; do
  for i in $(seq 1 "$N"); do run "$name" "$i"; done
done
printf "%-32s %8s %6s\n" request "cpu ms" count
tail -n +"$FROM" "$JAR_LOG" | grep -o 'cpu-us .*' | awk '
  { key = $2 " " $3; sum[key] += $4; n[key]++ }
  END { for (k in sum) printf "%-32s %8.2f %6d\n", k, sum[k] / n[k] / 1000, n[k] }' | sort
