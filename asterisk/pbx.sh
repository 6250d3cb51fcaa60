#!/usr/bin/env bash
# The test PBX without Docker: Debian sid's Asterisk in a debootstrap chroot, built once per
# machine and cached outside the repository, started with the configs of asterisk/conf.
#
#   asterisk/pbx.sh provision   build the cached root (debootstrap sid + apt-get install asterisk)
#   asterisk/pbx.sh start       provision if needed, install the configs, start Asterisk, wait for ARI
#   asterisk/pbx.sh stop        stop Asterisk and unmount
#   asterisk/pbx.sh status      exit 0 when ARI answers
#   asterisk/pbx.sh cli CMD     run an Asterisk CLI command
#
# Needs root (chroot, mount). Root dir: $CALLHOOK_PBX_ROOT (default /var/cache/callhook/pbx-root).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${CALLHOOK_PBX_ROOT:-/var/cache/callhook/pbx-root}
MIRROR=${CALLHOOK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ARI_URL=${CALLHOOK_PBX_ARI:-http://127.0.0.1:8088}
ARI_AUTH=${CALLHOOK_PBX_AUTH:-callhook:callhook}

log() { printf 'pbx: %s\n' "$*" >&2; }

host_tools() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v sipp >/dev/null || need+=(sip-tester)
  command -v curl >/dev/null || need+=(curl)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

provision() {
  host_tools
  if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.callhook-ready" ]; then return 0; fi
  log "building $ROOT (debootstrap sid, then asterisk); this happens once per machine"
  mkdir -p "$(dirname "$ROOT")"
  if [ ! -f "$ROOT.tmp/.debootstrapped" ]; then
    rm -rf "$ROOT.tmp"
    debootstrap --variant=minbase sid "$ROOT.tmp" "$MIRROR" >/dev/null
    touch "$ROOT.tmp/.debootstrapped"
  fi
  cp /etc/resolv.conf "$ROOT.tmp/etc/resolv.conf" 2>/dev/null || true
  # the mirror's sid Release file may be past its Valid-Until date
  local apt=(/usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false -qq)
  chroot "$ROOT.tmp" "${apt[@]}" update
  chroot "$ROOT.tmp" "${apt[@]}" install -y --no-install-recommends asterisk asterisk-modules >/dev/null
  chroot "$ROOT.tmp" apt-get clean
  touch "$ROOT.tmp/.callhook-ready"
  rm -rf "$ROOT"
  mv "$ROOT.tmp" "$ROOT"
  log "ready: $(chroot "$ROOT" asterisk -V)"
}

ari_up() {
  curl -fsS -m 2 -u "$ARI_AUTH" "$ARI_URL/ari/asterisk/info" >/dev/null 2>&1
}

start() {
  provision
  stop >/dev/null 2>&1 || true
  mountpoint -q "$ROOT/proc" || mount --bind /proc "$ROOT/proc"
  mountpoint -q "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
  rm -rf "$ROOT/etc/asterisk.callhook"
  mkdir -p "$ROOT/etc/asterisk.callhook"
  cp "$HERE"/conf/*.conf "$ROOT/etc/asterisk.callhook/"
  # inside the root: its /var/run is an absolute link to /run, which from outside is the host's
  chroot "$ROOT" mkdir -p /var/run/asterisk /var/log/asterisk /var/spool/asterisk /var/lib/asterisk /var/cache/asterisk
  rm -f "$ROOT/var/log/asterisk/messages"
  # Asterisk runs as the root's own asterisk user (root may lack the right to write others' files here)
  chroot "$ROOT" chown -R asterisk:asterisk /var/run/asterisk /var/log/asterisk /var/spool/asterisk /var/lib/asterisk /var/cache/asterisk /etc/asterisk.callhook
  log "starting Asterisk"
  chroot "$ROOT" /usr/sbin/asterisk -C /etc/asterisk.callhook/asterisk.conf -U asterisk -G asterisk
  for _ in $(seq 1 120); do
    if ari_up; then log "ARI answers at $ARI_URL"; return 0; fi
    sleep 0.5
  done
  log "ARI did not answer within 60 s; last log lines:"
  tail -n 30 "$ROOT/var/log/asterisk/messages" 2>/dev/null >&2 || true
  return 1
}

cli() {
  chroot "$ROOT" /usr/sbin/asterisk -C /etc/asterisk.callhook/asterisk.conf -rx "$*"
}

stop() {
  if chroot "$ROOT" test -S /var/run/asterisk/asterisk.ctl 2>/dev/null; then
    cli "core stop now" >/dev/null 2>&1 || true
    for _ in $(seq 1 40); do pgrep -f "$ROOT/usr/sbin/asterisk|/usr/sbin/asterisk -C /etc/asterisk.callhook" >/dev/null || break; sleep 0.25; done
  fi
  pkill -9 -f "/usr/sbin/asterisk -C /etc/asterisk.callhook" 2>/dev/null || true
  for m in proc dev; do mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m"; done
  return 0
}

case "${1:-}" in
  provision) provision ;;
  start) start ;;
  stop) stop ;;
  status) ari_up ;;
  cli) shift; cli "$@" ;;
  *) echo "usage: $0 provision|start|stop|status|cli CMD" >&2; exit 2 ;;
esac
