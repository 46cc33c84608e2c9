#!/usr/bin/env bash
# PostgreSQL for the tests: every server test also runs on PostgreSQL (`both!`), at
# postgres://postgres@127.0.0.1:5432/test (scripts/test's PROBITY_TEST_POSTGRES_URL) with trust
# authentication. A fresh Debian machine has no server, so this step makes one with Debian's
# postgresql (scripts/setup.d/postgres.apt) when that URL does not answer:
#   - a cluster of this machine listening on the port is used, otherwise one is created
#     (pg_createcluster VERSION main, newest installed version);
#   - trust for user postgres over the local socket and 127.0.0.1 (lines put first in pg_hba.conf);
#   - started with pg_ctlcluster (no systemd needed), or reloaded when already running;
#   - the database `test` created when missing.
# Idempotent. Does nothing when the URL already answers. Never touches a server that is not a
# cluster of this machine's postgresql-common. Fails, saying why, when the URL still does not
# answer at the end.
# Variables (for trying it against a second cluster): PROBITY_PG_PORT (5432),
# PROBITY_PG_CLUSTER (main), PROBITY_PG_DATABASE (test).
set -euo pipefail

HOST=127.0.0.1
PORT="${PROBITY_PG_PORT:-5432}"
CLUSTER="${PROBITY_PG_CLUSTER:-main}"
DB="${PROBITY_PG_DATABASE:-test}"
URL="postgres://postgres@$HOST:$PORT/$DB"
MARKER="# probity tests (scripts/setup.d/10-postgres.sh)"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

say() { echo "postgresql: $*"; }
fail() { echo "postgresql: ERROR: $*" >&2; exit 1; }

# A password from the environment must not make a check pass that the tests would fail.
unset PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE
psql_q() { psql -w -X -v ON_ERROR_STOP=1 -Atq "$@"; }
answers() { command -v pg_isready >/dev/null && pg_isready -q -h "$HOST" -p "$PORT"; }
url_works() { command -v psql >/dev/null && psql_q -d "$URL" -c 'SELECT 1' >/dev/null 2>&1; }

if [ -n "${PROBITY_TEST_POSTGRES_URL:-}" ] && [ "$PROBITY_TEST_POSTGRES_URL" != "$URL" ]; then
  say "PROBITY_TEST_POSTGRES_URL names another server; leaving PostgreSQL setup to its owner"
  exit 0
fi

if answers && url_works; then
  say "$URL answers; nothing to do"
  exit 0
fi

# Debian's server and cluster tools (normally installed by 00-debian-packages.sh from postgres.apt).
if ! command -v pg_createcluster >/dev/null || ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  say "installing Debian's postgresql"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql
fi

# The cluster to use: the one of this machine on the port, else VERSION/CLUSTER (created if missing).
read -r ver name status < <(pg_lsclusters -h | awk -v p="$PORT" '$3 == p { print $1, $2, $4; exit }') || true
if [ -z "${ver:-}" ]; then
  if answers; then
    fail "a server answers on $HOST:$PORT but is not a cluster of this machine (pg_lsclusters), and \
$URL does not accept user postgres without a password. Configure that server (trust for postgres \
from 127.0.0.1, database $DB), stop it and run scripts/setup again, or set PROBITY_TEST_POSTGRES_URL \
to a server the tests may use."
  fi
  ver="$(ls -d /usr/lib/postgresql/*/bin/postgres | awk -F/ '{ print $5 }' | sort -V | tail -n 1)"
  name="$CLUSTER"
  if [ -d "/etc/postgresql/$ver/$name" ]; then
    other_port="$(pg_conftool -s "$ver" "$name" show port 2>/dev/null || echo '?')"
    fail "cluster $ver/$name exists but is configured for port $other_port, not $PORT: set its port \
(pg_conftool $ver $name set port $PORT) or choose another cluster with PROBITY_PG_CLUSTER"
  fi
  say "creating cluster $ver/$name on port $PORT"
  $SUDO pg_createcluster "$ver" "$name" --port "$PORT" >/dev/null
  status=down
fi

# Trust for user postgres over the socket and from 127.0.0.1, ahead of every other line.
hba="$(pg_conftool -s "$ver" "$name" show hba_file)"
if ! $SUDO grep -qxF "$MARKER" "$hba"; then
  say "trust authentication for user postgres in $hba"
  tmp="$(mktemp)"
  {
    echo "$MARKER"
    echo "local   all   postgres                  trust"
    echo "host    all   postgres   127.0.0.1/32   trust"
    echo
    $SUDO cat "$hba"
  } >"$tmp"
  # Rewrite in place: the file keeps its owner and mode.
  $SUDO sh -c 'cat "$1" > "$2"' sh "$tmp" "$hba"
  rm -f "$tmp"
fi

case "${status:-down}" in
  online*)
    say "reloading cluster $ver/$name"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload ;;
  *)
    say "starting cluster $ver/$name"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start ;;
esac

for _ in $(seq 1 30); do
  answers && break
  sleep 1
done
log="/var/log/postgresql/postgresql-$ver-$name.log"
answers || fail "cluster $ver/$name does not answer on $HOST:$PORT after 30 s; see $log"

if [ -z "$(psql_q -h "$HOST" -p "$PORT" -U postgres -d postgres \
  -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
  say "creating database $DB"
  psql_q -h "$HOST" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE \"$DB\"" >/dev/null
fi

url_works || fail "$URL still does not answer (see $log)"
say "$URL answers (cluster $ver/$name)"
