#!/usr/bin/env bash
# Installs the Debian 12 packages herald builds, tests and benchmarks with.
# Safe to run again: apt-get skips what is already there.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# postfix ships smtp-sink/smtp-source; tell it not to configure a running MTA.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config
  libcurl4-openssl-dev libmicrohttpd-dev libmimetic-dev libsqlite3-dev
  libspdlog-dev libfmt-dev catch2 nlohmann-json3-dev libpugixml-dev
  libtomlplusplus-dev libkainjow-mustache-dev libssl-dev libsystemd-dev
  libhowardhinnant-date-dev libgpgme-dev
)
# clang and its runtime libraries build the libFuzzer targets (scripts/fuzz.sh);
# debhelper, lintian, dpkg-dev and fakeroot build and check the .deb.
# gnupg makes the throwaway signing keys of the OpenPGP tests (tests/test_openpgp.cpp).
# chromium, chromium-driver and python3-selenium run the browser test of the
# subscription pages (tests/e2e/test_subscribe_browser.py); a font for its screenshots.
test_pkgs=( python3 python3-aiosmtpd python3-jsonschema curl sqlite3 clang libclang-rt-14-dev debhelper lintian dpkg-dev
  fakeroot chromium chromium-driver python3-selenium fonts-dejavu-core gnupg )
bench_pkgs=( postfix rss2email wrk time prometheus-alertmanager nginx-light )
want=("${build_pkgs[@]}")
case "${1:-build}" in
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# postfix must not run as an MTA on a developer machine because of us.
if command -v postfix >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now postfix >/dev/null 2>&1 || true
fi
