#!/bin/sh
# What the .deb's and the .rpm's maintainer scripts do, in one place (installed as
# /usr/lib/scaph/package-hooks; the scripts call it with one of the verbs below).
#
#   installed fresh|upgrade   after the files are in place: the scaph user, the group read on energy_uj,
#                             systemd told; then scaph is enabled and (re)started if SCAPH_ENABLE_SERVICE=1
#                             is in the environment, else left as it was: on an upgrade restarted only if it
#                             was running, on a first install not started (the operator asks for it)
#   removing                  before the files go (not on upgrade): stop and disable scaph
set -e

unit=scaph.service

# systemd is PID 1 (not a container or chroot without it): start, stop and reload make sense.
systemd_running() {
  [ -d /run/systemd/system ]
}

# The system user and group "scaph" (home /var/lib/scaph, no login), from the sysusers.d file the package
# installs; useradd or adduser where there is no systemd-sysusers.
create_user() {
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers scaph.conf
  elif getent passwd scaph >/dev/null 2>&1; then
    :
  elif command -v useradd >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/scaph --no-create-home --shell /usr/sbin/nologin \
      --comment "scaph power-metering agent" scaph
  else
    adduser --system --group --home /var/lib/scaph --no-create-home --shell /usr/sbin/nologin scaph
  fi
}

# Group scaph reads the RAPL counters now (the tmpfiles.d rule runs again at every boot, the udev rule
# whenever the zones appear). A host without RAPL has nothing to match: not an error.
grant_energy_read() {
  if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles --create scaph-powercap.conf 2>/dev/null ||
      echo "scaph: could not apply scaph-powercap.conf now; it applies at the next boot" >&2
  fi
  if [ -S /run/udev/control ] && command -v udevadm >/dev/null 2>&1; then
    udevadm control --reload-rules || true
    udevadm trigger --subsystem-match=powercap || true
  fi
}

installed() {
  create_user
  grant_energy_read
  if systemd_running; then
    systemctl daemon-reload
  fi
  if [ "${SCAPH_ENABLE_SERVICE:-0}" = 1 ]; then
    systemctl enable "$unit"
    if systemd_running; then
      systemctl restart "$unit"
    fi
    return
  fi
  case "$1" in
    fresh)
      echo "scaph: installed, not started. Check /etc/scaph/scaph.toml, then: systemctl enable --now scaph" >&2
      ;;
    upgrade)
      if systemd_running; then
        systemctl try-restart "$unit"
      fi
      ;;
    *)
      echo "package-hooks: installed fresh|upgrade, not '$1'" >&2
      exit 2
      ;;
  esac
}

removing() {
  if systemd_running; then
    systemctl stop "$unit" || true
  fi
  # Works without a running systemd too: it removes the links enable made.
  systemctl disable "$unit" >/dev/null 2>&1 || true
}

case "$1" in
  installed) installed "$2" ;;
  removing) removing ;;
  *)
    echo "package-hooks: installed fresh|upgrade, or removing; not '$1'" >&2
    exit 2
    ;;
esac
