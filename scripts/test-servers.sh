#!/usr/bin/env bash
# Throwaway PostgreSQL and MariaDB servers on loopback for tether's tests and benchmarks.
#   scripts/test-servers.sh start DIR   starts both (data under DIR), writes DIR/env
#   scripts/test-servers.sh stop DIR    stops both and removes DIR
# DIR/env exports TETHER_TEST_PG_URL and TETHER_TEST_MYSQL_URL: an administrator account
# (tether / tether-test) that tests use to create their own databases and roles.
# The servers are tuned for tests (no fsync): never point them at data you care about.
# PostgreSQL refuses to run as root, so when run as root both servers run as their Debian
# service users (postgres, mysql). The packages come from scripts/setup.sh --tests.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
password=tether-test

# Runs a command as the given service user when we are root, else as ourselves.
as_user() {
  local user="$1"
  shift
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on.
# A port nothing listens on, outside the kernel's ephemeral range: a port inside it may be the
# local end of a client's connection (a test run opens thousands), which a server cannot bind.
free_port() {
  local port lo=32768 hi=60999 first span
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  if [ "$lo" -gt 11024 ]; then first=10000 span=$((lo - 10000)); else first=$((hi + 1)) span=$((65535 - hi)); fi
  for _ in $(seq 1 200); do
    port=$((first + RANDOM % span))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "test-servers: no free port found" >&2
  return 1
}

start_postgres() {
  local data="$dir/pg" port
  port=$(free_port)
  mkdir -p "$data"
  printf '%s\n' "$password" >"$dir/pg.pw"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$data" "$dir/pg.pw"; fi
  as_user postgres "$pg_bin/initdb" -D "$data" -U tether --pwfile="$dir/pg.pw" \
    --auth-local=trust --auth-host=md5 -E UTF8 --locale=C.UTF-8 >"$dir/pg-init.log" 2>&1 ||
    { cat "$dir/pg-init.log" >&2; return 1; }
  rm -f "$dir/pg.pw"
  as_user postgres "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB \
        -c password_encryption=md5" >/dev/null ||
    { cat "$data/server.log" >&2; return 1; }
  # Passwords are kept as MD5, not SCRAM: a SCRAM log-in costs the client 4,096 rounds of
  # HMAC-SHA-256, about 8 ms of the 12 ms a connection took, and the tests open thousands.
  # initdb stored the administrator's password as SCRAM; store it again.
  as_user postgres "$pg_bin/psql" -q -h "$data" -p "$port" -U tether -d postgres \
    -c "ALTER ROLE tether PASSWORD '$password'" >/dev/null || { cat "$data/server.log" >&2; return 1; }
  echo "export TETHER_TEST_PG_URL='postgres://tether:$password@127.0.0.1:$port/postgres'" >>"$dir/env"
  echo "test-servers: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

start_mariadb() {
  local data="$dir/my" port
  port=$(free_port)
  mkdir -p "$data"
  if [ "$(id -u)" -eq 0 ]; then chown -R mysql: "$data"; fi
  local user_opt=()
  [ "$(id -u)" -eq 0 ] && user_opt=(--user=mysql)
  mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/my-init.log" 2>&1 ||
    { cat "$dir/my-init.log" >&2; return 1; }
  mariadbd --no-defaults "${user_opt[@]}" --datadir="$data" --socket="$data/sock" \
    --pid-file="$data/pid" --port="$port" --bind-address=127.0.0.1 --log-error="$data/server.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --local-infile=1 \
    --innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 --innodb-buffer-pool-size=256M \
    --max-connections=300 --skip-name-resolve >/dev/null 2>&1 &
  for _ in $(seq 1 120); do
    if mariadb --no-defaults -uroot --socket="$data/sock" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  mariadb --no-defaults -uroot --socket="$data/sock" -e "
    CREATE USER 'tether'@'127.0.0.1' IDENTIFIED BY '$password';
    GRANT ALL PRIVILEGES ON *.* TO 'tether'@'127.0.0.1' WITH GRANT OPTION;
    CREATE USER 'tether'@'localhost' IDENTIFIED BY '$password';
    GRANT ALL PRIVILEGES ON *.* TO 'tether'@'localhost' WITH GRANT OPTION;" ||
    { cat "$data/server.log" >&2; return 1; }
  echo "export TETHER_TEST_MYSQL_URL='mysql://tether:$password@127.0.0.1:$port/'" >>"$dir/env"
  echo "test-servers: MariaDB $(mariadbd --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_all() {
  if [ -f "$dir/pg/postmaster.pid" ]; then
    as_user postgres "$pg_bin/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/my/pid" ]; then
    local pid
    pid=$(cat "$dir/my/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "$cmd" in
  start)
    [ -n "$pg_bin" ] || { echo "test-servers: PostgreSQL is not installed (scripts/setup.sh --tests)" >&2; exit 1; }
    command -v mariadbd >/dev/null || { echo "test-servers: MariaDB is not installed (scripts/setup.sh --tests)" >&2; exit 1; }
    mkdir -p "$dir"
    chmod 755 "$dir"
    : >"$dir/env"
    start_postgres || { stop_all; exit 1; }
    start_mariadb || { stop_all; exit 1; }
    ;;
  stop) stop_all ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
