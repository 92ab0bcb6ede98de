#!/usr/bin/env bash
# Backs up or restores the appliance's data directory (the store, the keys, the TLS files).
#   bash deploy/backup.sh backup  -R /root/backup-recipients.txt /media/usb/piaojue-$(date +%F).tar.age
#   bash deploy/backup.sh backup  -r age1… [-r age1…] /media/usb/piaojue-$(date +%F).tar.age
#   bash deploy/backup.sh restore -i /path/to/identity.txt /media/usb/piaojue-2026-11-23.tar.age
#
# In the plain (unencrypted) ballot mode the store links each deputy to their ballot of every
# secret vote (sled's log keeps a deputy's cast mark, the ballot, the receipt and the audit entry
# next to each other), and it holds the private keys: read docs/operations.md, "Backups and
# ballot secrecy". So a backup is encrypted (the `age` format, Debian package `age`) to the
# recipients named at backup time (`-r RECIPIENT`, `-R FILE`, repeatable): tar streams into age,
# no plaintext copy is ever written, and the result is fsynced before it is renamed into place.
# Without a recipient it refuses (exit 2) unless `--unencrypted-i-understand` is given.
#
# A backup is taken with the service stopped, so the store is consistent. It first asks the
# running appliance (GET /api/public/votes) whether a vote is open and refuses (exit 3) if one
# is: the public listing does not say whether a vote is secret, so any open vote counts as
# secret, and stopping the service would interrupt it. It also refuses if the appliance cannot
# be asked (a stopped appliance may hold an open vote). `--force` overrides both.
#
# Environment: PIAOJUE_DATA (default /var/lib/piaojue); PIAOJUE_URL (default
# https://127.0.0.1, checked against DATA/tls/ca.pem; `--url` overrides); PIAOJUE_SERVICE (the
# systemd unit to stop and start again, default piaojue; empty: none).
# Exit status: 0 done; 1 a step failed; 2 usage, or no recipient; 3 a vote is open, or the
# appliance could not be asked.
set -euo pipefail
umask 077
data=${PIAOJUE_DATA:-/var/lib/piaojue}
url=${PIAOJUE_URL:-https://127.0.0.1}
service=${PIAOJUE_SERVICE-piaojue}

usage() {
  cat >&2 <<EOF
usage: $0 backup  (-r RECIPIENT | -R RECIPIENTS_FILE)... [--url URL] [--force] FILE
       $0 backup  --unencrypted-i-understand [--url URL] [--force] FILE
       $0 restore [-i IDENTITY_FILE]... FILE
EOF
  exit 2
}

action=${1:-}
[ $# -gt 0 ] && shift
file=
recipients=()
identities=()
unencrypted=
force=
while [ $# -gt 0 ]; do
  case "$1" in
    -r|--recipient) [ $# -ge 2 ] || usage; recipients+=(-r "$2"); shift 2 ;;
    -R|--recipients-file) [ $# -ge 2 ] || usage; recipients+=(-R "$2"); shift 2 ;;
    -i|--identity) [ $# -ge 2 ] || usage; identities+=(-i "$2"); shift 2 ;;
    --url) [ $# -ge 2 ] || usage; url=$2; shift 2 ;;
    --force) force=1; shift ;;
    --unencrypted-i-understand) unencrypted=1; shift ;;
    --) shift; [ $# -eq 1 ] || usage; file=$1; shift ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) [ -z "$file" ] || usage; file=$1; shift ;;
  esac
done
[ -n "$action" ] && [ -n "$file" ] || usage

stopped=
restart_service() {
  if [ -n "$stopped" ]; then
    systemctl start "$service" 2>/dev/null || true
    stopped=
  fi
}
stop_service() {
  if [ -n "$service" ] && systemctl is-active --quiet "$service" 2>/dev/null; then
    systemctl stop "$service"
    stopped=1
  fi
}

# Refuses (exit 3) while any vote is open, unless --force.
check_no_open_vote() {
  local listing open cacert=()
  if ! command -v curl >/dev/null 2>&1; then
    listing=
    echo "cannot ask the appliance whether a vote is open: curl is not installed (apt-get install curl)" >&2
  else
    if [ "${url#https:}" != "$url" ] && [ -r "$data/tls/ca.pem" ]; then
      cacert=(--cacert "$data/tls/ca.pem")
    fi
    listing=$(curl --silent --show-error --fail --max-time 10 --proto =http,https \
      "${cacert[@]}" "${url%/}/api/public/votes" 2>&1) || {
      echo "cannot ask the appliance at $url whether a vote is open: $listing" >&2
      listing=
    }
  fi
  case "$listing" in
    '{"votes":['*) ;;
    *)
      if [ -n "$force" ]; then
        echo "warning: --force: backing up without knowing whether a vote is open" >&2
        return 0
      fi
      echo "refusing to back up: a stopped appliance may still hold an open vote. Start it (or" >&2
      echo "give its address with --url), or pass --force if you know that no vote is open." >&2
      exit 3
      ;;
  esac
  # serde_json's compact output: `"state":"open"` occurs only as a vote's state.
  open=$(printf '%s' "$listing" | sed 's/{"id":"/\n/g' | grep '"state":"open"' | cut -d'"' -f1 | tr '\n' ' ' || true)
  open=${open% }
  if [ -n "$open" ]; then
    if [ -n "$force" ]; then
      echo "warning: --force: backing up while vote(s) $open are open: the backup links each" >&2
      echo "deputy who has cast to their ballot, and the appliance stops while it is taken" >&2
      return 0
    fi
    echo "refusing to back up: vote(s) $open open. The public listing does not say whether a" >&2
    echo "vote is secret, so each counts as secret; a backup now would hold who cast what so far," >&2
    echo "and would stop the appliance mid-vote. Back up after the vote closes (or pass --force)." >&2
    exit 3
  fi
}

# fsyncs a file or a directory (coreutils `sync FILE` calls fsync on it).
fsync() { sync -- "$@"; }

case "$action" in
  backup)
    if [ ${#recipients[@]} -eq 0 ] && [ -z "$unencrypted" ]; then
      cat >&2 <<'EOF'
refusing to back up: no recipient. In the plain ballot mode the store links each deputy to
their ballot of every secret vote, and it holds the appliance's private keys: a backup is
encrypted to the people docs/operations.md ("Backups and ballot secrecy") names, with
`-r age1…` or `-R RECIPIENTS_FILE` (made with `age-keygen`). To write a readable archive
anyway, pass --unencrypted-i-understand: whoever reads that file learns who voted how.
EOF
      exit 2
    fi
    if [ ${#recipients[@]} -gt 0 ] && [ -n "$unencrypted" ]; then
      echo "give recipients or --unencrypted-i-understand, not both" >&2
      exit 2
    fi
    [ -d "$data" ] || { echo "no data directory at $data" >&2; exit 1; }
    if [ ${#recipients[@]} -gt 0 ]; then
      command -v age >/dev/null 2>&1 || { echo "age is not installed (apt-get install age)" >&2; exit 2; }
      # Check the recipients before stopping anything.
      age "${recipients[@]}" </dev/null >/dev/null || { echo "age refused the recipients" >&2; exit 2; }
    fi
    check_no_open_vote
    dir=$(dirname -- "$file")
    tmp="$file.partial.$$"
    trap 'rm -f -- "$tmp" "$tmp.sha256"; restart_service' EXIT
    stop_service
    if [ ${#recipients[@]} -gt 0 ]; then
      # Never a plaintext copy on disk: tar streams straight into age.
      tar --create --file - --directory "$(dirname -- "$data")" "$(basename -- "$data")" \
        | age "${recipients[@]}" --output "$tmp"
    else
      echo "warning: --unencrypted-i-understand: $file is readable by whoever holds it; it links" >&2
      echo "each deputy to their ballot of every secret vote, and holds the private keys" >&2
      tar --create --file "$tmp" --directory "$(dirname -- "$data")" "$(basename -- "$data")"
    fi
    restart_service
    fsync "$tmp"
    hash=$(sha256sum < "$tmp" | cut -d' ' -f1)
    printf '%s  %s\n' "$hash" "$(basename -- "$file")" > "$tmp.sha256"
    fsync "$tmp.sha256"
    mv -f -- "$tmp" "$file"
    mv -f -- "$tmp.sha256" "$file.sha256"
    fsync "$dir"
    trap - EXIT
    if [ -n "$unencrypted" ]; then
      echo "backed up $data to $file, NOT encrypted ($hash)"
    else
      echo "backed up $data to $file, encrypted to the given recipients ($hash)"
    fi
    ;;
  restore)
    [ ${#recipients[@]} -eq 0 ] && [ -z "$unencrypted" ] || usage
    [ -e "$data/appliance.key" ] && { echo "$data holds an appliance; move it away first" >&2; exit 2; }
    [ -r "$file" ] || { echo "cannot read $file" >&2; exit 2; }
    if [ -e "$file.sha256" ]; then
      [ "$(sha256sum < "$file" | cut -d' ' -f1)" = "$(cut -d' ' -f1 "$file.sha256")" ] \
        || { echo "$file does not match $file.sha256" >&2; exit 1; }
      echo "$file: checksum matches"
    fi
    magic=$(head -c 34 -- "$file" | tr -d '\0')
    case "$magic" in
      age-encryption.org/v1*|"-----BEGIN AGE ENCRYPTED FILE-----") encrypted=1 ;;
      *) encrypted= ;;
    esac
    if [ -n "$encrypted" ]; then
      [ ${#identities[@]} -gt 0 ] || { echo "$file is encrypted: give the identity with -i FILE" >&2; exit 2; }
      command -v age >/dev/null 2>&1 || { echo "age is not installed (apt-get install age)" >&2; exit 2; }
    fi
    trap restart_service EXIT
    stop_service
    mkdir -p -- "$(dirname -- "$data")"
    if [ -n "$encrypted" ]; then
      age --decrypt "${identities[@]}" -- "$file" \
        | tar --extract --file - --directory "$(dirname -- "$data")"
    else
      tar --extract --file "$file" --directory "$(dirname -- "$data")"
    fi
    chown -R piaojue:piaojue "$data" 2>/dev/null || true
    chmod 0700 "$data"
    # A restored store that is not on disk is not restored.
    sync -f -- "$data" 2>/dev/null || sync
    [ -n "$service" ] && systemctl start "$service" 2>/dev/null || true
    stopped=
    echo "restored $data; the audit chain is checked when the service starts"
    ;;
  *) usage ;;
esac
