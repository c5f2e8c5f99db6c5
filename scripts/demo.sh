#!/usr/bin/env bash
# Quick start: install what is missing, build, and run herald once on the
# bundled real sample data (config/demo.toml). Announcements land in
# var/demo/Maildir/new/, and their subjects are listed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_TESTS=OFF >/dev/null
cmake --build build -j2
status=0
./build/herald run --once --config config/demo.toml || status=$?
echo
echo "Announcements in var/demo/Maildir/new/:"
for f in var/demo/Maildir/new/*; do
  [ -e "$f" ] || continue
  to=$(grep -m1 -h '^To:' "$f" | tr -d '\r')
  subject=$(grep -m1 -h '^Subject:' "$f" | tr -d '\r')
  printf '  %-45s %s\n' "$to" "$subject"
done
echo "Run it again: nothing new is sent (the store remembers what was announced)."
exit $status
