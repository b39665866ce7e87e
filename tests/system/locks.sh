#!/usr/bin/env bash
# File locking (NLM v4 + NSM) with the Linux kernel client, mounted WITHOUT nolock, and a
# second client on the host (slatenfs-lock, the project's NLM client).
#
#   guest "client-a" 192.168.77.2 ──tap── bridge 192.168.77.1 (slatenfs: NFS 2049, port 111)
#                                                192.168.77.3 (slatenfs-lock)
#
# Everything runs in a private network namespace (unshare), so the server owns port 111 there
# without touching the host's, and the guest and the server reach each other directly (the
# server calls the guest back: GRANTED, SM_NOTIFY). Two boots of the guest:
#   1. locks between processes of one client (flock, fcntl, a blocked lock, a locked counter,
#      concurrent SQLite writers); exclusion against the host client both ways; a blocked lock
#      granted by the server's GRANTED callback; then the guest powers off holding a lock.
#   2. the same client "rebooted": sm-notify tells the server, which releases the lock of the
#      crashed life; then a lock held across a server restart is reclaimed in the grace period,
#      while the host client's new lock is refused until the grace period ends.
# LOCKS_SOAK=1 makes the concurrent parts bigger (make soak).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

if [ "$(id -u)" != 0 ]; then
    echo "SKIP locks.sh needs root (network namespace, tap device)"; exit 0
fi
if [ -z "${LOCKS_IN_NETNS:-}" ]; then
    # The namespace has no way out: the harness cannot download its kernel from inside.
    find_nfsvm && nfsvm_fetch_kernel || { echo "FAIL the nfs-vm harness cannot boot a guest"; exit 1; }
    LOCKS_IN_NETNS=1 exec unshare --net -- "$BASH" "$0" "$@"
fi

for prog in rpcbind rpc.statd sm-notify flock sqlite3 gcc ip; do
    command -v "$prog" >/dev/null || { echo "FAIL locks.sh needs $prog (scripts/install-deps.sh)"; exit 1; }
done
find_nfsvm || exit 1
LOCKTOOL=${SLATENFS_LOCK_BIN:-$(dirname "$BIN")/slatenfs-lock}
[ -x "$LOCKTOOL" ] || { echo "FAIL $LOCKTOOL not built (cargo build --bins)"; exit 1; }

work=$(mktemp -d)
# LOCKS_KEEP=1 keeps the server log and the guests' output in $work.
trap 'stop_server; if [ -n "${LOCKS_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi' EXIT
if [ "${LOCKS_SOAK:-0}" = 1 ]; then
    guest_args=(8 200 6 400)     # SQLite writers, rows each; counter processes, iterations
else
    guest_args=(4 25 4 50)
fi

# ---------------------------------------------------------------- network --
ip link set lo up
ip link add br0 type bridge
ip addr add 192.168.77.1/24 dev br0
ip addr add 192.168.77.3/24 dev br0
ip link set br0 up
ip tuntap add tap0 mode tap
ip link set tap0 master br0
ip link set tap0 up

gcc -static -O2 -Wall -o "$work/locktest" "$ROOT/tests/vm/locktest.c" || { echo "FAIL build locktest"; exit 1; }

# Long enough for a TCG guest to hear the server's SM_NOTIFY and reclaim its lock.
GRACE=45
# The guest (192.168.77.2) and the host client (192.168.77.3) are on the bridge's network.
serve_args=(--storage "file://$work/data" --grace-period "$GRACE"
            --export "/ 192.168.77.0/24(rw,no_root_squash,insecure)")
export LISTEN_IP=192.168.77.1 PORT_OVERRIDE=2049 RPCBIND_MODE=auto
export RUST_LOG=info,slatenfs::nfs::nlm=debug,slatenfs::lockmgr=debug
start_server "$work" "${serve_args[@]}" || { fail "server starts"; summary; exit 1; }
grep -q "serving portmap/rpcbind on 192.168.77.1:111" "$work/server.log" \
    && pass "server owns port 111 in the namespace" || fail "server owns port 111"

host_client() { # host_client TIMEOUT args...: the host's NLM client
    local timeout=$1; shift
    "$LOCKTOOL" --server 192.168.77.1 --from 192.168.77.3 --name host-b --svid 7 --timeout "$timeout" "$@"
}
tool() { host_client 120 "$@"; }
# The guest's markers: a slow (TCG) guest boots and runs its own part first, so give it longer
# than one RPC.
marker() { host_client 600 wait "$@"; }
expect() { # expect DESCRIPTION STATUS tool-args...
    local desc=$1 want=$2; shift 2
    local got; got=$(tool --expect "$want" "$@" 2>&1 | tail -1)
    [ "$got" = "$want" ] && pass "$desc" || fail "$desc: expected $want, got $got"
}

vm() { # vm ROLE [extra run args]: boots the guest client, its output on stdout
    local role=$1; shift
    "$RUN" --no-mount --timeout 900 --mem 1024 \
        --with rpcbind --with rpc.statd --with sm-notify --with flock --with sqlite3 \
        --with "$work/locktest" \
        --file /etc/netconfig --file /etc/services --file /etc/hosts \
        --file /etc/nsswitch.conf --file /etc/protocols \
        --qemu-arg -netdev --qemu-arg tap,id=n1,ifname=tap0,script=no,downscript=no \
        --qemu-arg -device --qemu-arg virtio-net-pci,netdev=n1,mac=52:54:00:00:77:02 \
        "$@" -- "$ROOT/tests/vm/lock-guest.sh" "$role" "${guest_args[@]}"
}

# ----------------------------------------------------------------- boot 1 --
guest_results() { # the guest's PASS/FAIL lines count as this part's
    grep -E '^(PASS|FAIL)' "$1" | sed 's/ / guest: /'
    PASSED=$((PASSED + $(grep -c '^PASS' "$1")))
    FAILED=$((FAILED + $(grep -c '^FAIL' "$1")))
}

# The guest makes sync/ on the export; the host waits for markers in it.
vm first >"$work/vm1.out" 2>"$work/vm1.err" &
vm1=$!

if marker sync/b1-held >/dev/null; then
    expect "host refused a lock the guest holds" DENIED lock shared.f
    expect "host TEST sees the guest's lock" DENIED test shared.f --shared
    tool create sync/b1-release
    marker sync/b1-done >/dev/null
    expect "host gets the lock once the guest released it" GRANTED lock shared.f
    # The guest's own blocked locks came before; its next one is the LOCK against the host's.
    queued() { grep -c "a lock of client-a .* waits" "$work/server.log"; }
    queued_before=$(queued)
    tool create sync/b2-held
    marker sync/b2-waiting >/dev/null
    # Unlock only once the guest's blocked LOCK is queued at the server (BLOCKED), so that the
    # grant goes through the GRANTED_MSG callback.
    for _ in $(seq 1 600); do
        [ "$(queued)" -gt "$queued_before" ] && break
        sleep 0.1
    done
    [ "$(queued)" -gt "$queued_before" ] \
        && pass "guest's lock waits at the server" || fail "guest's lock waits at the server (60 s)"
    expect "host unlocks while the guest waits" GRANTED unlock shared.f
    marker sync/b2-granted >/dev/null && pass "guest's blocked lock granted" || fail "guest's blocked lock granted"
    marker sync/d-held >/dev/null
else
    fail "guest reached the cross-client part"
fi
wait $vm1
vm1_rc=$?
guest_results "$work/vm1.out"
grep -E "RESULT|died" "$work/vm1.err" | sed 's/^/vm1: /'
grep -q "guest: powering off while holding" "$work/vm1.out" \
    && pass "guest 1 powered off holding a lock (exit $vm1_rc)" || { fail "guest 1 run"; tail -30 "$work/vm1.err"; }
grep -q "granted a blocked lock of client-a" "$work/server.log" \
    && pass "server granted the guest's blocked lock" || fail "server granted the guest's blocked lock"
grep -q "NLM GRANTED_RES from 192.168.77.2" "$work/server.log" \
    && pass "guest answered the GRANTED_MSG callback" || fail "guest answered the GRANTED_MSG callback"

expect "the crashed client's lock is still held" DENIED lock crash.f

# ----------------------------------------------------------------- boot 2 --
mkdir -p "$work/sm-record"
awk '/^SM-RECORD-BEGIN /{f="'"$work"'/sm-record/" $2; next} /^SM-RECORD-END/{f=""; next} f{print > f}' "$work/vm1.out"
[ -n "$(ls "$work/sm-record")" ] && pass "guest 1 monitored the server (statd record)" || fail "statd record of the server"
vm reboot --file "$work/sm-record:/sm-record" >"$work/vm2.out" 2>"$work/vm2.err" &
vm2=$!

if marker sync/e-notified >/dev/null; then
    grep -q "SM_NOTIFY from client-a" "$work/server.log" && pass "server got SM_NOTIFY from the rebooted client" \
        || fail "server got SM_NOTIFY from the rebooted client"
    expect "the lock of the crashed client is released" GRANTED lock crash.f
    expect "host unlocks it again" GRANTED unlock crash.f

    marker sync/e-held >/dev/null
    expect "host refused the guest's lock before the restart" DENIED lock restart.f
    stop_server && pass "server stops cleanly with a lock held" || fail "server stops cleanly"
    start_server "$work" "${serve_args[@]}" || { fail "server restarts"; summary; exit 1; }
    expect "a new lock is refused in the grace period" DENIED_GRACE_PERIOD lock restart.f
    # After the grace period: the guest reclaimed its lock, so the host is refused it.
    for _ in $(seq 1 $((GRACE * 4))); do
        got=$(tool lock restart.f 2>&1 | tail -1)
        [ "$got" = DENIED_GRACE_PERIOD ] || break
        sleep 1
    done
    [ "$got" = DENIED ] && pass "after the grace period the guest's reclaimed lock holds" \
        || fail "after the grace period: expected DENIED, got $got"
    grep -q "lock manager: client-a (svid [0-9]*) reclaimed its lock" "$work/server.log" \
        && pass "the guest reclaimed its lock in the grace period" || fail "the guest reclaimed its lock"
    grep -q "told client-a (192.168.77.2) about the restart" "$work/server.log" \
        && pass "server notified the client after its restart" || fail "server notified the client after its restart"
    tool create sync/e-release
    marker sync/e-done >/dev/null
    expect "host gets the lock after the guest released it" GRANTED lock restart.f
else
    fail "rebooted guest reached the restart part"
fi
wait $vm2
vm2_rc=$?
guest_results "$work/vm2.out"
grep -E "RESULT" "$work/vm2.err" | sed 's/^/vm2: /'
[ "$vm2_rc" = 0 ] && pass "guest 2 finished" || { fail "guest 2 (exit $vm2_rc)"; tail -30 "$work/vm2.err"; }
check "SIGTERM exits 0" stop_server
grep -E "lock manager: [0-9]+ grants" "$work/server.log" | tail -2
summary
