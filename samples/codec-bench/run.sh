#!/usr/bin/env bash
# Builds the bench and runs it: all codecs in one JVM (steady-state table), then each codec in a
# JVM of its own (clean first-round-trip numbers). JAVA selects the JVM (default: java on PATH).
set -euo pipefail
cd "$(dirname "$0")"
JAVA="${JAVA:-java}"
mvn -q package
jar=target/codec-bench.jar
opts=(-Xms1g -Xmx1g)
echo "# $(date -u +%Y-%m-%dT%H:%MZ), all codecs in one JVM"
"$JAVA" "${opts[@]}" -jar "$jar"
for codec in kryo fory fory-tuned; do
    echo
    echo "# $codec alone in a fresh JVM"
    "$JAVA" "${opts[@]}" -jar "$jar" "$codec" | grep -v -e "^JVM" -e "^$"
done
