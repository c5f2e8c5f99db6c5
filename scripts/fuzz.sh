#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, in
# build-fuzz) and runs each for SECONDS (default 8) from its seeds; fails on
# the first crash, sanitizer report or failed check, leaving the input in
# build-fuzz/crashes/. New inputs found are kept in build-fuzz/corpus/<target>.
#   scripts/fuzz.sh [SECONDS] [TARGET...]    e.g. scripts/fuzz.sh 600 cron
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-8}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(feed_parser tracker_events event_api config cron changelog mail_composer eol osv)

# The seeds of each target: real inputs from tests/fixtures, or written for it.
seeds() {
  case "$1" in
    feed_parser) echo tests/fixtures/feeds ;;
    tracker_events) echo tests/fixtures/jira tests/fixtures/github tests/fixtures/gitlab tests/fixtures/tracker ;;
    event_api) echo tests/fuzz/seeds/event_api tests/fixtures/tracker ;;
    config) echo tests/fuzz/seeds/config ;;
    cron) echo tests/fuzz/seeds/cron ;;
    changelog) echo tests/fixtures/lustre ;;
    mail_composer) echo tests/fuzz/seeds/mail_composer ;;
    eol) echo tests/fixtures/eol tests/fuzz/seeds/eol ;;
    osv) echo tests/fixtures/osv ;;
    *) echo "fuzz.sh: no target '$1'" >&2; exit 2 ;;
  esac
}

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DHERALD_FUZZ=ON -DHERALD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j2 >/dev/null
mkdir -p build-fuzz/crashes
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "${targets[@]}"; do
  dirs=$(seeds "$t")
  mkdir -p "build-fuzz/corpus/$t"
  log="build-fuzz/fuzz_$t.log"
  # -max_len keeps the short runs meaningful; -timeout catches an input that hangs.
  # shellcheck disable=SC2086
  if ! "build-fuzz/tests/fuzz/fuzz_$t" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
      -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="build-fuzz/crashes/$t-" "build-fuzz/corpus/$t" $dirs >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $t FAILED (input in build-fuzz/crashes/, log $log)"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "fuzz: $t ok, ${runs:-?} runs in ${seconds}s (${rate:-?}/s)"
done
