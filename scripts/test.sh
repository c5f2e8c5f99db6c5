#!/usr/bin/env bash
# Installs what is missing, builds herald from nothing twice (with
# AddressSanitizer + UndefinedBehaviorSanitizer, then a normal build), and
# runs the whole suite (unit tests and end-to-end tests against real local
# SMTP and HTTP servers) in both. The last lines are ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh test
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHERALD_SANITIZE=ON -DHERALD_WERROR=ON >/dev/null
cmake --build build-asan -j2
echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
(cd build-asan && ctest --output-on-failure -j2 --timeout 600)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_WERROR=ON >/dev/null
cmake --build build -j2
echo "== tests (RelWithDebInfo)"
cd build && ctest --output-on-failure -j2 --timeout 600
