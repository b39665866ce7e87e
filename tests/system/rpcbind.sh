#!/usr/bin/env bash
# Port 111 owned by the system's rpcbind (Debian's): slatenfs registers NLM and NSM with it at
# start and removes them at stop, and clients find the lock manager through it. Also the
# --rpcbind modes that must refuse to start. Runs in private network and mount namespaces
# (rpcbind's port and its /run socket are the test's own).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

if [ "$(id -u)" != 0 ]; then
    echo "SKIP rpcbind.sh needs root (namespaces)"; exit 0
fi
if [ -z "${RPCBIND_IN_NS:-}" ]; then
    RPCBIND_IN_NS=1 exec unshare --net --mount -- "$BASH" "$0" "$@"
fi
for prog in rpcbind rpcinfo; do
    command -v "$prog" >/dev/null || { echo "FAIL rpcbind.sh needs $prog (scripts/install-deps.sh)"; exit 1; }
done
LOCKTOOL=${SLATENFS_LOCK_BIN:-$(dirname "$BIN")/slatenfs-lock}
work=$(mktemp -d)
trap 'stop_server; [ -n "${rpcb:-}" ] && kill $rpcb 2>/dev/null; rm -rf "$work"' EXIT

ip link set lo up
mount -t tmpfs tmpfs /run && mkdir -p /run/rpcbind
rpcbind -f & rpcb=$!
for _ in $(seq 1 300); do rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break; sleep 0.1; done
rpcinfo -p 127.0.0.1 >/dev/null 2>&1 || { fail "the system's rpcbind answers within 30 s"; summary; exit 1; }

export RPCBIND_MODE=auto
start_server "$work" --storage memory:// || { fail "server starts"; summary; exit 1; }
grep -q "registered NLM and NSM with the system's rpcbind" "$work/server.log" \
    && pass "with 111 taken, the server registers with the system's rpcbind" \
    || fail "registers with the system's rpcbind"
for want in "100021 4 tcp $PORT nlockmgr" "100021 4 udp $PORT nlockmgr" \
    "100024 1 tcp $PORT status" "100024 1 udp $PORT status"; do
    rpcinfo -p 127.0.0.1 | awk '{print $1, $2, $3, $4, $5}' | grep -qx "$want" \
        && pass "rpcbind lists $want" || fail "rpcbind lists $want"
done
tool() { "$LOCKTOOL" --server 127.0.0.1 --port "$PORT" --name rpcb-test --timeout 30 "$@"; }
tool create f
check "a client finds the lock manager through rpcbind and locks" tool --expect granted lock f
check "and unlocks" tool --expect granted unlock f
check "SIGTERM exits 0" stop_server
rpcinfo -p 127.0.0.1 | grep -q "nlockmgr\|status" \
    && fail "registrations removed at stop: $(rpcinfo -p 127.0.0.1 | grep -E 'nlockmgr|status')" \
    || pass "registrations removed at stop"

# A registration left by a server that was killed is replaced by the next one.
PORT_OVERRIDE=$PORT start_server "$work" --storage memory:// || fail "server starts again"
kill9_server
rpcinfo -p 127.0.0.1 | grep -q nlockmgr && pass "a killed server's registration stays" || fail "registration after kill -9"
RPCBIND_MODE=system PORT_OVERRIDE=$PORT start_server "$work" --storage memory:// \
    && pass "--rpcbind system replaces the stale registration" || fail "--rpcbind system starts"
check "SIGTERM exits 0" stop_server

# Modes that cannot be honoured refuse to start, with one line naming --rpcbind.
refuses() { # refuses DESC MODE
    local out
    out=$(SLATEDB_CACHE_DIR=$work/c SLATEDB_CACHE_SIZE_GB=1 timeout 60 "$BIN" serve \
        --listen "127.0.0.1:$(free_port)" --storage memory:// --rpcbind "$2" 2>&1)
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q -- "^slatenfs: --rpcbind $2" <<<"$out"; then
        pass "$1: $(grep '^slatenfs:' <<<"$out")"
    else
        fail "$1 (exit $rc): $out"
    fi
}
refuses "--rpcbind own with rpcbind on 111" own
kill $rpcb; wait $rpcb 2>/dev/null; rpcb=
refuses "--rpcbind system without rpcbind" system
summary
