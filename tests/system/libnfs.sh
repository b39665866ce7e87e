#!/usr/bin/env bash
# libnfs interop (nfs-ls, nfs-cp, nfs-cat) against a fresh server.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'stop_server; rm -rf "$work"' EXIT
start_server "$work" --storage "file://$work/data" || { fail "server starts"; summary; exit 1; }
bash "$ROOT/tests/interop/libnfs.sh" --port "$PORT"
rc=$?
stop_server || { echo "FAIL clean stop"; exit 1; }
exit $rc
