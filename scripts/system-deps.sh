#!/usr/bin/env bash
# The system packages officina needs: Python >= 3.11 that can make a venv and, for the tests, the
# Debian packages whose servers the tests start on their own free ports (Mosquitto, InfluxDB 1.x),
# and the headless Chromium the browser tests drive.
# `--python-only` checks Python alone (enough for the demo). Safe to run again: it installs only
# what is missing. It starts no service; the tests start their own.
set -euo pipefail

python=${PYTHON:-python3}
servers=yes
for arg in "$@"; do
  case "$arg" in
    --python-only) servers=no ;;
    *)
      echo "usage: $0 [--python-only]" >&2
      exit 2
      ;;
  esac
done

if ! command -v "$python" >/dev/null 2>&1; then
  echo "system-deps: $python not found; officina needs Python >= 3.11" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "system-deps: $("$python" -V 2>&1) is too old; officina needs Python >= 3.11" >&2
  exit 1
fi

# Debian puts mosquitto in /usr/sbin, which a non-root PATH often lacks.
have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

missing=()
if [ "$servers" = yes ]; then
  if ! have mosquitto || ! have mosquitto_passwd; then
    missing+=(mosquitto)
  fi
  if ! have influxd; then
    missing+=(influxdb)
  fi
  # The TLS tests make their CA and certificates with the openssl command.
  if ! have openssl; then
    missing+=(openssl)
  fi
  # The firmware's protocol and RMS code is compiled and tested on the host.
  if ! have g++; then
    missing+=(g++)
  fi
  # The browser tests drive the api's web pages in headless Chromium.
  if ! have chromium; then
    missing+=(chromium)
  fi
fi
# Debian's own Python makes virtual environments only with python3-venv installed.
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: nothing to install"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing Debian packages: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
