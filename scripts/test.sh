#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test, then build and run the
# tests again under AddressSanitizer + UBSan. Exits non-zero on any failure.
#   scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0

start=$(date +%s)
scripts/setup.sh --tests --build-dir build

# Throwaway PostgreSQL and MariaDB servers on loopback for the whole run, stopped on any exit.
servers=$(mktemp -d /tmp/tether-servers.XXXXXX)
trap 'scripts/test-servers.sh stop "$servers"' EXIT
scripts/test-servers.sh start "$servers"
# shellcheck disable=SC1091
source "$servers/env"
export TETHER_TEST_PG_URL TETHER_TEST_MYSQL_URL

echo "== tests"
(cd build && ctest --output-on-failure -j 2 --timeout 900)

if [ "$sanitize" = 1 ]; then
  scripts/setup.sh --tests --sanitize --build-dir build-asan
  echo "== tests under AddressSanitizer + UBSan"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The kill-at-random-moments tests (Crash, Chaos) time their kills for the release build: a
  # sanitizer build starts and copies several times slower, so their kills would all land
  # before any work is done. They run in the release pass above. So do the engine-pair tests
  # between the two servers (postgres_to_mysql, mysql_to_postgres), a fifth of this pass: each
  # server's reading and writing code still runs here, against SQLite and against itself.
  (cd build-asan && ctest --output-on-failure -j 2 --timeout 900 \
     -E 'Crash|Chaos|/postgres_to_mysql|/mysql_to_postgres')
fi
echo "== all tests passed in $(( $(date +%s) - start )) s"
