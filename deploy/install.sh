#!/usr/bin/env bash
# Installs the piaojue appliance on a fresh Debian machine (run as root):
#   bash deploy/install.sh --binary target/release/piaojue --name piaojue.venue.lan --address 192.168.10.2
# Makes the user, the data directory, the appliance (key, passphrase, TLS), the systemd unit,
# the firewall and the sysctl hardening. Refuses to touch an existing appliance.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=target/release/piaojue
names=()
session="人民代表大会会议"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --name|--address) names+=(--tls-name "$2"); shift 2 ;;
    --session-name) session=$2; shift 2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
[ -x "$binary" ] || { echo "no executable at $binary (cargo build --release first)" >&2; exit 2; }

install -m 0755 "$binary" /usr/local/bin/piaojue
id piaojue >/dev/null 2>&1 || useradd --system --home-dir /var/lib/piaojue --shell /usr/sbin/nologin piaojue
install -d -m 0700 -o piaojue -g piaojue /var/lib/piaojue
if [ -e /var/lib/piaojue/appliance.key ]; then
  echo "an appliance already exists in /var/lib/piaojue; leaving it as it is"
else
  # The passphrase is printed once: write it down (see docs/operations.md).
  runuser -u piaojue -- /usr/local/bin/piaojue init --data /var/lib/piaojue --session-name "$session" "${names[@]}"
fi
install -m 0644 "$here/piaojue.service" /etc/systemd/system/piaojue.service
install -d /usr/share/doc/piaojue
install -m 0644 "$here/../docs/operations.md" /usr/share/doc/piaojue/operations.md
install -m 0644 "$here/../firmware-config/sysctl.conf" /etc/sysctl.d/90-piaojue.conf
sysctl --system >/dev/null
if command -v nft >/dev/null 2>&1; then
  install -m 0644 "$here/../firmware-config/nftables.conf" /etc/nftables.conf
  nft -f /etc/nftables.conf
  systemctl enable nftables >/dev/null 2>&1 || true
else
  echo "warning: nftables is not installed (apt-get install nftables); the firewall is not active" >&2
fi
systemctl daemon-reload
systemctl enable --now piaojue
systemctl --no-pager status piaojue | head -5
echo "installed. The tablets need /var/lib/piaojue/tls/ca.pem; the agenda needs: piaojue keys show --data /var/lib/piaojue"
