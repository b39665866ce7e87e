#!/usr/bin/env bash
# slatenfs fsck as an operator runs it: with the settings of serve, refusing to run beside a
# server on the same cache directory unless --force, exit 0 when consistent, --repair.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'stop_server; rm -rf "$work"' EXIT
url() { echo "nfs://127.0.0.1//$1?version=3&nfsport=$PORT&mountport=$PORT"; }
store=(--storage "file://$work/data")
fsck() { SLATEDB_CACHE_DIR=$work/cache "$BIN" fsck "${store[@]}" "$@" >"$work/out" 2>&1; }

head -c 300000 /dev/urandom >"$work/f"
start_server "$work" "${store[@]}" || { fail "server starts"; summary; exit 1; }
for i in 1 2 3; do nfs-cp "$work/f" "$(url "f$i")" >/dev/null || fail "nfs-cp f$i"; done

fsck; rc=$?
[ $rc -eq 2 ] && grep -q "running slatenfs process (pid $SERVER_PID)" "$work/out" \
    && pass "refuses to run beside the server on the same cache directory: $(head -1 "$work/out")" \
    || { fail "refuses to run beside the server (exit $rc)"; cat "$work/out"; }
fsck --force; rc=$?
[ $rc -eq 0 ] && grep -q "clean" "$work/out" && pass "--force checks the live storage: clean" \
    || { fail "--force checks the live storage (exit $rc)"; cat "$work/out"; }
out=$(SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=1 timeout 30 "$BIN" serve \
      --listen "127.0.0.1:$(free_port)" "${store[@]}" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "SLATEDB_CACHE_DIR.*give each server its own cache directory" \
    && pass "a second server on the same cache directory refuses to start" \
    || fail "a second server on the same cache directory refuses to start (exit $rc): $out"

kill9_server
fsck; rc=$?
[ $rc -eq 0 ] && grep -Eq "^  [0-9]+ inodes .* 3 files" "$work/out" && grep -q "clean" "$work/out" \
    && pass "after kill -9: clean, counts: $(grep inodes "$work/out" | sed 's/^ *//')" \
    || { fail "after kill -9: clean (exit $rc)"; cat "$work/out"; }
fsck --repair; rc=$?
[ $rc -eq 0 ] && grep -q "repaired: nothing" "$work/out" && pass "--repair of a clean filesystem does nothing" \
    || { fail "--repair of a clean filesystem (exit $rc)"; cat "$work/out"; }
start_server "$work" "${store[@]}" || { fail "server starts after fsck"; summary; exit 1; }
check "data intact after fsck --repair" cmp <(nfs-cat "$(url f2)") "$work/f"
check "SIGTERM exits 0" stop_server
summary
