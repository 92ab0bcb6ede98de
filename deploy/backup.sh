#!/usr/bin/env bash
# Backs up or restores the appliance's data directory (the store, the keys, the TLS files).
#   bash deploy/backup.sh backup  /media/usb/piaojue-$(date +%F).tar
#   bash deploy/backup.sh restore /media/usb/piaojue-2026-11-23.tar
# A backup is taken with the service stopped, so the store is consistent; it holds the
# private keys: keep it like the appliance itself (see keys/README.md).
set -euo pipefail
data=${PIAOJUE_DATA:-/var/lib/piaojue}
action=${1:-}; file=${2:-}
[ -n "$action" ] && [ -n "$file" ] || { echo "usage: $0 backup|restore FILE" >&2; exit 2; }
case "$action" in
  backup)
    systemctl stop piaojue 2>/dev/null || true
    tar --create --file "$file" --directory "$(dirname "$data")" "$(basename "$data")"
    sha256sum "$file" > "$file.sha256"
    systemctl start piaojue 2>/dev/null || true
    echo "backed up $data to $file ($(cut -d' ' -f1 "$file.sha256"))"
    ;;
  restore)
    [ -e "$data/appliance.key" ] && { echo "$data holds an appliance; move it away first" >&2; exit 2; }
    [ -e "$file.sha256" ] && sha256sum --check "$file.sha256"
    systemctl stop piaojue 2>/dev/null || true
    tar --extract --file "$file" --directory "$(dirname "$data")"
    chown -R piaojue:piaojue "$data" 2>/dev/null || true
    chmod 0700 "$data"
    systemctl start piaojue 2>/dev/null || true
    echo "restored $data; the audit chain is checked when the service starts"
    ;;
  *) echo "usage: $0 backup|restore FILE" >&2; exit 2 ;;
esac
