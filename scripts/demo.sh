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
  # The Subject may be RFC 2047 encoded; print it decoded.
  /usr/bin/python3 -c 'import sys,email,email.policy
m=email.message_from_binary_file(open(sys.argv[1],"rb"),policy=email.policy.default)
print("  %-40s %s" % (m["To"], m["Subject"]))' "$f"
done
echo "Run it again: nothing new is sent (the store remembers what was announced)."
exit $status
