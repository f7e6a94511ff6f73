#!/usr/bin/env bash
# Installs the real backends the integration tests start on loopback (Debian/Ubuntu packages).
# Nothing is started here: each test starts its own server on a free 127.0.0.1 port.
set -euo pipefail

# kubectl renders deploy/kubernetes (`kubectl kustomize`, no cluster needed); any kubectl on PATH will do,
# Debian's kubernetes-client only when there is none. setpriv runs the agent with no capabilities.
# strace watches a run for the system calls a unit's SystemCallFilter= would refuse.
# npm run package and test/e2e/package: dpkg-deb and dpkg-shlibdeps (dpkg-dev), rpmbuild (rpm), strip
# (binutils), lintian, man (the man page), and for the arm64 executable its strip and qemu with Debian's
# arm64 C and C++ libraries. An entry starting with / is a file to look for rather than a command.
packages=(prometheus victoria-metrics prometheus-pushgateway riemann-c-client prometheus-process-exporter prometheus-node-exporter openssl gcc systemd kubernetes-client util-linux strace
  dpkg-dev rpm binutils lintian man-db binutils-aarch64-linux-gnu qemu-user libc6-arm64-cross libstdc++6-arm64-cross)
binaries=(prometheus victoria-metrics prometheus-pushgateway riemann-client prometheus-process-exporter prometheus-node-exporter openssl gcc systemd-analyze kubectl setpriv strace
  dpkg-shlibdeps rpmbuild strip lintian man aarch64-linux-gnu-strip qemu-aarch64 /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 /usr/aarch64-linux-gnu/lib/libstdc++.so.6)

missing=()
for i in "${!binaries[@]}"; do
  case "${binaries[$i]}" in
    /*) [ -e "${binaries[$i]}" ] || missing+=("${packages[$i]}") ;;
    *) command -v "${binaries[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}") ;;
  esac
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: all test backends present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-test-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: no apt-get; install these packages yourself: ${missing[*]}" >&2
  exit 1
fi
echo "install-test-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# The Debian packages start their daemons on fixed ports via systemd when it runs; the tests never use those.
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-test-deps: done"
