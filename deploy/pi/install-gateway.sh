#!/bin/sh
# Install an officina gateway on Raspberry Pi OS (Bookworm, 32- or 64-bit), as gateway/INSTALL.md
# describes step by step: system packages and buses, the `officina` user, a venv under
# /opt/officina, the config in /etc/officina and the systemd unit. Safe to run again (upgrades).
#
#   sudo sh deploy/pi/install-gateway.sh [--source DIR] [--no-start]
set -eu

SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
START=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE=$2; shift 2 ;;
    --no-start) START=no; shift ;;
    *) echo "usage: $0 [--source DIR] [--no-start]" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: sudo sh $0" >&2
  exit 1
fi
if [ ! -f "$SOURCE/pyproject.toml" ] || [ ! -d "$SOURCE/gateway/deploy" ]; then
  echo "$SOURCE is not an officina source tree (use --source)" >&2
  exit 1
fi

PREFIX=/opt/officina
CONFIG=/etc/officina/gateway.toml
UNIT=/etc/systemd/system/officina-gateway.service

echo "== system packages and buses"
apt-get update -q
apt-get install -y -q python3-venv python3-dev python3-lgpio
if command -v raspi-config >/dev/null 2>&1; then
  raspi-config nonint do_i2c 0   # ADS1115, PN532
  raspi-config nonint do_spi 0   # RC522
  raspi-config nonint do_serial_hw 0 2>/dev/null || true   # RDM6300, PZEM-004T on the UART
fi

echo "== the officina user"
if ! id officina >/dev/null 2>&1; then
  adduser --system --group --home /var/lib/officina officina
fi
for group in dialout gpio i2c spi input; do
  if getent group "$group" >/dev/null; then adduser officina "$group" >/dev/null; fi
done

echo "== officina in $PREFIX/venv"
install -d -m 0755 "$PREFIX"
# --system-site-packages lets gpiozero find Raspberry Pi OS's own lgpio pin library.
[ -x "$PREFIX/venv/bin/python" ] || python3 -m venv --system-site-packages "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install -q --upgrade pip
"$PREFIX/venv/bin/pip" install -q "$SOURCE[pi]"

echo "== configuration"
install -d -m 0750 -o root -g officina /etc/officina
if [ ! -f "$CONFIG" ]; then
  install -m 0640 -o root -g officina "$SOURCE/gateway/deploy/gateway.example.toml" "$CONFIG"
  echo "edit $CONFIG (site, gateway id, broker login from \`officina api gateway-credentials\`, machines)"
  START=no
fi

echo "== systemd unit"
install -m 0644 "$SOURCE/gateway/deploy/officina-gateway.service" "$UNIT"
systemctl daemon-reload
systemctl enable officina-gateway >/dev/null

if [ "$START" = yes ]; then
  sudo -u officina "$PREFIX/venv/bin/officina" gateway check --config "$CONFIG"
  systemctl restart officina-gateway
  echo "running: journalctl -u officina-gateway -f"
else
  echo "then: sudo -u officina $PREFIX/venv/bin/officina gateway check --config $CONFIG"
  echo "      sudo systemctl start officina-gateway"
fi
