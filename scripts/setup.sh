#!/usr/bin/env bash
# Installs what tether needs from Debian's packages (only what is missing) and builds it.
#   scripts/setup.sh [--tests] [--bench] [--sanitize] [--build-dir DIR]
# --bench adds the peers bench/compare_bench measures tether against (pt-table-sync, sqldiff).
# Idempotent: when everything is installed and built, it takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

tests=0
bench=0
sanitize=0
build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --tests) tests=1 ;;
    --bench) bench=1 ;;
    --sanitize) sanitize=1 ;;
    --build-dir) build_dir="$2"; shift ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

packages=(g++ cmake ninja-build pkg-config sqlite3 libsqlite3-dev libyaml-cpp-dev
          nlohmann-json3-dev libcli11-dev libfmt-dev libxxhash-dev libpq-dev libmariadb-dev
          libssl-dev libcpp-httplib-dev libre2-dev)
if [ "$tests" = 1 ]; then
  # The tests start their own throwaway PostgreSQL and MariaDB servers (scripts/test-servers.sh).
  packages+=(googletest libgtest-dev postgresql postgresql-client mariadb-server mariadb-client curl jq)
fi
if [ "$sanitize" = 1 ]; then
  # The sanitizer build is compiled by Clang (see below) with its sanitizer runtimes.
  packages+=(clang libclang-rt-dev)
fi
if [ "$bench" = 1 ]; then
  # bench/compare_bench's peers: pt-table-sync (MySQL/MariaDB) and sqldiff (SQLite).
  packages+=(percona-toolkit sqlite3-tools)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The sanitizer build is for finding memory and UB errors, not for speed: -O0 compiles in about
# half the time of -O2 on two cores. Debug information is line tables only (-g1): backtraces and
# sanitizer reports keep their file:line, and the build takes a quarter less time than with -g.
# It is compiled by Clang: GCC 12 takes twice as long over the same code with ASan + UBSan at -O0
# (34 s against 17 s of CPU for one batch of the engine's tests), and a second compiler's
# warnings (-Werror) catch what the first lets through.
build_type=RelWithDebInfo
flags="-O2 -g1 -DNDEBUG"
compiler=g++
if [ "$sanitize" = 1 ]; then
  build_type=Debug
  flags="-g1"
  compiler=clang++
fi
cmake_args=(-S . -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=$compiler -DCMAKE_BUILD_TYPE=$build_type
            "-DCMAKE_CXX_FLAGS_${build_type^^}=$flags"
            -DTETHER_TESTS=$([ "$tests" = 1 ] && echo ON || echo OFF)
            -DTETHER_SANITIZE=$([ "$sanitize" = 1 ] && echo ON || echo OFF)
            -DTETHER_BENCH=OFF -DTETHER_UNITY=ON -DTETHER_PCH=ON)
cmake "${cmake_args[@]}" >/dev/null  # cheap when nothing changed; keeps options as asked
cmake --build "$build_dir" -j "$(nproc)"
