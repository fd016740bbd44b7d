#!/usr/bin/env bash
# For CI: make sure a PostgreSQL answers on 127.0.0.1:5432 and trusts user `postgres` there, so the
# ledger tests run on PostgreSQL as well as on SQLite. A server that already answers is left alone.
set -euo pipefail

host=127.0.0.1
port=5432
marker="# officina tests: trust postgres on loopback"

answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$host" -p "$port" -t 2
  else
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}

if answers; then
  echo "ensure-postgres: PostgreSQL answers on $host:$port"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-postgres: nothing answers on $host:$port and only root can start PostgreSQL." >&2
  echo "  Start it with: sudo pg_ctlcluster --skip-systemctl-redirect <version> main start" >&2
  exit 1
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  echo "ensure-postgres: installing postgresql"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if [ ! -d "/etc/postgresql/$version/main" ]; then
  pg_createcluster -p "$port" "$version" main
fi

# We are setting this server up ourselves, so the tests may connect without a password.
hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! grep -qF "$marker" "$hba"; then
  # First matching line wins, so the trust line goes on top; `cat >` keeps owner and mode.
  updated=$(mktemp)
  { echo "$marker"; echo "host all postgres $host/32 trust"; cat "$hba"; } >"$updated"
  cat "$updated" >"$hba"
  rm -f "$updated"
fi

if pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main reload
else
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

for _ in $(seq 1 60); do
  if answers; then
    echo "ensure-postgres: PostgreSQL $version answers on $host:$port"
    exit 0
  fi
  sleep 0.5
done
echo "ensure-postgres: PostgreSQL $version started but does not answer on $host:$port" >&2
tail -n 20 "/var/log/postgresql/postgresql-$version-main.log" >&2 || true
exit 1
