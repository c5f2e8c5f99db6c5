#!/usr/bin/env bash
# Builds herald's Debian package from this checkout and checks it with lintian.
#
#   scripts/build-deb.sh [OUT_DIR]     (default build-deb; the .deb is OUT_DIR/herald_*.deb)
#
# dpkg-buildpackage writes its results beside the source tree, so the checkout's files
# (tracked and untracked, not ignored) are copied to OUT_DIR/herald-VERSION and built
# there: nothing is written outside OUT_DIR. The build is dh's cmake build with
# dpkg-buildflags (hardening=+all); lintian errors fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build-deb}")
version=$(dpkg-parsechangelog -S Version)
tree="$out/herald-$version"
rm -rf "$out"
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tree" 2>/dev/null ||
  { echo "build-deb: not a git checkout; copying the tree" >&2;
    tar -c --exclude='./build*' --exclude=./var --exclude=./.git . | tar -x -C "$tree"; }
# dh points HOME into the build tree; keep using the developer's compiler cache.
if command -v ccache >/dev/null; then
  CCACHE_DIR=${CCACHE_DIR:-$(ccache -k cache_dir)}
  export CCACHE_DIR CCACHE_BASEDIR="$tree"
fi
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}"
(cd "$tree" && nice dpkg-buildpackage -us -uc -b)
deb=$(ls "$out"/herald_"$version"_*.deb)
lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs "$deb"
echo "build-deb: $deb"
