#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, only what is missing.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have qemu-system-x86_64 || need_apt+=(qemu-system-x86)
[ -x /bin/busybox ] || dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
have cpio || need_apt+=(cpio)
have nfs-cp || need_apt+=(libnfs-utils)
dpkg -s libnfs-dev >/dev/null 2>&1 || need_apt+=(libnfs-dev)
have gcc || need_apt+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need_apt+=(libc6-dev)
have curl || need_apt+=(curl)
# The lock tests: rpcbind and rpc.statd/sm-notify for the guest client, rpcinfo, sqlite3.
have rpcbind || need_apt+=(rpcbind)
have rpc.statd || need_apt+=(nfs-common)
have sqlite3 || need_apt+=(sqlite3)

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "install-deps: apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# A real S3-compatible server for the S3 path (runs without Docker).
if ! have moto_server; then
    echo "install-deps: pip install moto[server]"
    python3 -m pip install -q 'moto[server]'
fi
have moto_server || { echo "install-deps: moto_server not on PATH after install" >&2; exit 1; }
echo "install-deps: ok"
