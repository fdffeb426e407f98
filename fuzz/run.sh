#!/usr/bin/env bash
# Fuzzes every decoder for N inputs each: the Rust targets in fuzz/fuzz_targets (cargo-fuzz on the
# nightly toolchain) and the Java codec's @FuzzTest methods (Jazzer, jvm-hooks/common
# CodecFuzzTest). Prints each target's execution count, speed and result, and writes
# fuzz/out/summary.json. Exits non-zero when a target found something or failed to run.
#
#   fuzz/run.sh [--runs N] [--java-runs N] [--only NAME]... [--minimize]
#
# --runs N       inputs per Rust target (default 10000000)
# --java-runs N  inputs per Java target (default: --runs)
# --only NAME    run only this target (repeatable): a Rust target, or java:objectCodec,
#                java:outcome, java:serverDecode
# --minimize     afterwards, merge what the run learned into the committed corpora: Rust
#                through `cargo fuzz cmin`, Java by taking Jazzer's working corpus (which keeps
#                only inputs that added coverage)
#
# New corpus entries go to fuzz/out/corpus/<target> (the committed corpus is only read), findings
# to fuzz/artifacts/<target> (Rust) and fuzz/out/java/<method> (Java). Needs: rustup's nightly
# toolchain, `cargo install cargo-fuzz`, Maven and a JDK 17.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ="$ROOT/fuzz"
OUT="$FUZZ/out"
RUNS=10000000
JAVA_RUNS=
ONLY=()
MINIMIZE=0
JAVA_METHODS=(objectCodec outcome serverDecode)
JAVA_INPUTS="$ROOT/jvm-hooks/common/src/test/resources/io/semifaas/common/CodecFuzzTestInputs"
JAVA_BUILT_INPUTS="$ROOT/jvm-hooks/common/target/test-classes/io/semifaas/common/CodecFuzzTestInputs"
JAVA_CORPUS="$ROOT/jvm-hooks/common/.cifuzz-corpus/io.semifaas.common.CodecFuzzTest"

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --java-runs) JAVA_RUNS=$2; shift 2 ;;
    --only) ONLY+=("$2"); shift 2 ;;
    --minimize) MINIMIZE=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 >&2 ;;
  esac
done
JAVA_RUNS=${JAVA_RUNS:-$RUNS}
case "$RUNS$JAVA_RUNS" in *[!0-9]*) echo "run.sh: --runs and --java-runs take a number" >&2; exit 2 ;; esac

selected() {
  [ ${#ONLY[@]} -eq 0 ] && return 0
  local name
  for name in "${ONLY[@]}"; do [ "$name" = "$1" ] && return 0; done
  return 1
}

mkdir -p "$OUT/logs"
RESULTS=()
FAILED=0

# record NAME LANGUAGE REQUESTED LOG STATUS ARTIFACTS: reads the libFuzzer statistics from LOG.
record() {
  local name=$1 language=$2 requested=$3 log=$4 status=$5 artifacts=$6
  local executed seconds speed result
  executed=$(grep -Eo '^Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
  seconds=$(grep -Eo '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 | grep -Eo '[0-9]+ second' | grep -Eo '[0-9]+' || true)
  if [ -z "$executed" ]; then
    # A run stopped by a finding prints its last status line instead.
    executed=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  fi
  speed=$(grep -Eo 'exec/s: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
  executed=${executed:-0}
  if [ "$status" -eq 0 ] && [ -z "$artifacts" ]; then
    result=ok
  elif [ -n "$artifacts" ]; then
    result=finding
    FAILED=1
  else
    result=error
    FAILED=1
  fi
  printf '%-24s %-5s %12s execs  %8s exec/s  %6ss  %s %s\n' \
    "$name" "$language" "$executed" "${speed:-?}" "${seconds:-?}" "$result" "$artifacts"
  RESULTS+=("$(printf '{"target":"%s","language":"%s","requested":%s,"executed":%s,"seconds":%s,"exec_per_sec":%s,"result":"%s","artifacts":"%s","log":"%s"}' \
    "$name" "$language" "$requested" "$executed" "${seconds:-null}" "${speed:-null}" "$result" "$artifacts" "$log")")
}

# --- Rust -------------------------------------------------------------------------------------
RUST_TARGETS=()
# The targets' sources, so that a Java-only run needs no cargo-fuzz.
for target in $(cd "$FUZZ/fuzz_targets" && ls -- *.rs | sed 's/\.rs$//'); do
  selected "$target" && RUST_TARGETS+=("$target")
done
if [ ${#RUST_TARGETS[@]} -gt 0 ]; then
  (cd "$ROOT" && cargo +nightly fuzz build --fuzz-dir fuzz)
fi
for target in "${RUST_TARGETS[@]}"; do
  log="$OUT/logs/$target.log"
  mkdir -p "$OUT/corpus/$target" "$FUZZ/artifacts/$target"
  before=$(ls "$FUZZ/artifacts/$target" | sort)
  set +e
  (cd "$ROOT" && cargo +nightly fuzz run --fuzz-dir fuzz "$target" \
    "$OUT/corpus/$target" "$FUZZ/corpus/$target" -- \
    -runs="$RUNS" -timeout=60 -print_final_stats=1) >"$log" 2>&1
  status=$?
  set -e
  artifacts=$(comm -13 <(echo "$before") <(ls "$FUZZ/artifacts/$target" | sort) \
    | sed "s|^|fuzz/artifacts/$target/|" | tr '\n' ' ' | sed 's/ $//')
  record "$target" rust "$RUNS" "$log" "$status" "$artifacts"
  if [ "$MINIMIZE" -eq 1 ]; then
    cp -n "$OUT/corpus/$target"/* "$FUZZ/corpus/$target"/ 2>/dev/null || true
    (cd "$ROOT" && cargo +nightly fuzz cmin --fuzz-dir fuzz "$target" "$FUZZ/corpus/$target") \
      >"$OUT/logs/$target.cmin.log" 2>&1
  fi
done

# --- Java -------------------------------------------------------------------------------------
for method in "${JAVA_METHODS[@]}"; do
  selected "java:$method" || continue
  log="$OUT/logs/java-$method.log"
  mkdir -p "$OUT/java/$method"
  before=$(ls "$JAVA_INPUTS/$method" | sort)
  set +e
  # Jazzer fuzzes one @FuzzTest per JVM; it writes findings (and slow inputs) next to the
  # committed inputs, from where they are moved to fuzz/out/java.
  (cd "$ROOT" && JAZZER_FUZZ=1 JAZZER_MAX_EXECUTIONS="$JAVA_RUNS" JAZZER_MAX_DURATION=1000h \
    JAZZER_KEEP_GOING=50 \
    mvn -B -f jvm-hooks/pom.xml -pl common test -Dtest="CodecFuzzTest#$method" \
    -Dsurefire.failIfNoSpecifiedTests=false) >"$log" 2>&1
  status=$?
  set -e
  artifacts=""
  for found in $(comm -13 <(echo "$before") <(ls "$JAVA_INPUTS/$method" | sort)); do
    mv "$JAVA_INPUTS/$method/$found" "$OUT/java/$method/"
    rm -f "$JAVA_BUILT_INPUTS/$method/$found" # the copy a regression run would replay
    artifacts="$artifacts fuzz/out/java/$method/$found"
  done
  record "java:$method" java "$JAVA_RUNS" "$log" "$status" "${artifacts# }"
  if [ "$MINIMIZE" -eq 1 ]; then
    # Jazzer's working corpus holds only inputs that added coverage; the committed inputs take it.
    cp -n "$JAVA_CORPUS/$method"/* "$JAVA_INPUTS/$method"/ 2>/dev/null || true
  fi
done

# --- Summary ----------------------------------------------------------------------------------
{
  printf '{"runs":%s,"java_runs":%s,"finished":"%s","targets":[' "$RUNS" "$JAVA_RUNS" "$(date -u +%FT%TZ)"
  (IFS=,; printf '%s' "${RESULTS[*]}")
  printf ']}\n'
} >"$OUT/summary.json"
echo "summary: fuzz/out/summary.json"
exit "$FAILED"
