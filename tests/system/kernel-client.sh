#!/usr/bin/env bash
# The Linux kernel NFS client (QEMU guest) runs our POSIX suite, exerciser, concurrency and tar checks.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'stop_server; rm -rf "$work"' EXIT
start_server "$work" --storage "file://$work/data" || { fail "server starts"; summary; exit 1; }
bash "$ROOT/tests/vm/run-suite.sh" --port "$PORT"
rc=$?
stop_server || { echo "FAIL clean stop after the guest suite"; exit 1; }
exit $rc
