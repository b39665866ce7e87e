#!/usr/bin/env bash
# Snapshots (`slatenfs snapshot create/list/delete`, browsed under /.snapshot/NAME) with the
# Linux kernel client (QEMU guest, tests/vm/snapshot-guest.sh) and from the host (the command's
# errors, libnfs, the no-server fallback). Two boots of the guest on one store:
#   1. writes a tree; the host takes snap1 (through the server's admin socket); the guest changes
#      the live tree and checks the snapshot: the old tree byte for byte, read-only, hidden from
#      READDIR, a submount of its own, mountable directly;
#   2. after a server restart: the same checks of content; the guest holds snap1 mounted while
#      the host deletes it, then its handles are stale.
# The host and the guest meet through marker files in /.sync on the export (nfs-ls, nfs-cp).
# SNAPSHOTS_KEEP=1 keeps the work directory (it is always kept when a check failed).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
find_nfsvm || exit 1
for prog in nfs-ls nfs-cp nfs-cat; do
    command -v "$prog" >/dev/null || { echo "FAIL snapshots.sh needs $prog (libnfs-utils)"; exit 1; }
done
work=$(mktemp -d)
trap 'stop_server; if [ -n "${SNAPSHOTS_KEEP:-}" ] || [ "$FAILED" -gt 0 ]; then echo "kept $work"; else rm -rf "$work"; fi' EXIT
T0=$(date +%s)

serve_args=(--storage "file://$work/data")
# snap SUBCOMMAND [ARGS...]: the snapshot command with the server's storage and cache settings
# (RUST_LOG unset: what an operator who sets nothing sees on stderr).
snap() { local sub=$1; shift; env -u RUST_LOG SLATEDB_CACHE_DIR="$work/cache" "$BIN" snapshot "$sub" --storage "file://$work/data" "$@"; }
url() { echo "nfs://127.0.0.1/$1?version=3&nfsport=$PORT&mountport=$PORT"; }
# host_wait NAME VMPID: the guest's marker /.sync/NAME, up to 300 s (the guest boots meanwhile)
host_wait() {
    for _ in $(seq 1 600); do
        nfs-ls "$(url /.sync/)" 2>/dev/null | grep -qw -- "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.5
    done
    return 1
}
# host_mark NAME TEXT: the host's marker /.sync/NAME with TEXT in it
host_mark() { printf '%s\n' "$2" >"$work/mark"; nfs-cp "$work/mark" "$(url "/.sync/$1")" >/dev/null; }
guest_results() { # guest_results OUT PHASE: the guest's PASS/FAIL lines count as this part's
    grep -E '^(PASS|FAIL)' "$1" | sed 's/ / guest: /'
    grep -E '^INFO' "$1" | sed 's/^/  guest: /'
    PASSED=$((PASSED + $(grep -c '^PASS' "$1")))
    FAILED=$((FAILED + $(grep -c '^FAIL' "$1")))
    grep -q "^PHASE-DONE $2" "$1" && pass "guest ran phase $2 to the end" \
        || { fail "guest ran phase $2 to the end"; tail -30 "${1%.out}.err"; }
}
# one_line DESCRIPTION WANT_RC ARGS...: the snapshot command exits WANT_RC with one stderr line
one_line() {
    local desc=$1 want=$2; shift 2
    local rc
    snap "$@" >"$work/cmd.out" 2>"$work/cmd.err"; rc=$?
    local n; n=$(wc -l <"$work/cmd.err")
    if [ "$rc" = "$want" ] && [ "$n" = 1 ]; then pass "$desc: exit $rc, $(cat "$work/cmd.err")"
    else fail "$desc: exit $rc (want $want), $n stderr lines (want 1):"; cut -c1-160 "$work/cmd.err" | head -6 | sed 's/^/    /'; fi
}

start_server "$work" "${serve_args[@]}" || { fail "server starts"; summary; exit 1; }

# ----------------------------------------------------------------- boot 1 --
"$RUN" --no-mount --port "$PORT" --timeout 400 \
    -- "$ROOT/tests/vm/snapshot-guest.sh" write "$PORT" >"$work/vm1.out" 2>"$work/vm1.err" &
vm1=$!
if host_wait ready-snap $vm1; then
    if snap create snap1 >"$work/create.out" 2>&1; then
        pass "snapshot create snap1 with the server running: $(cat "$work/create.out")"
        host_mark snap-created ok
    else
        fail "snapshot create snap1 with the server running: $(cat "$work/create.out")"
        host_mark snap-created "create failed"
    fi
    grep -q "created snapshot snap1 (id" "$work/server.log" \
        && pass "the create went through the server's admin socket" || fail "the create went through the admin socket"
else
    fail "guest 1 wrote its tree (no ready-snap marker)"
fi
wait $vm1
echo "vm1: exit $? $(grep -E 'RESULT|timings' "$work/vm1.err" | tr '\n' ' ')"
guest_results "$work/vm1.out" write

# ------------------------------------------------------ host-side checks --
one_line "create with a bad name 'a/b'" 2 create 'a/b'
one_line "create with a 65-character name" 2 create "$(printf 'n%.0s' $(seq 65))"
one_line "create with an empty name" 2 create ''
one_line "create with the reserved name '.'" 2 create .
one_line "create with the reserved name '..'" 2 create ..
name64=$(printf 'x%.0s' $(seq 64))
snap create "$name64" >/dev/null 2>&1 && pass "create with a 64-character name" || fail "create with a 64-character name"
one_line "create of a duplicate name" 1 create snap1
one_line "delete of a missing name" 1 delete no-such-snapshot
snap list >"$work/list.out" 2>&1; rc=$?
[ $rc = 0 ] && grep -qw snap1 "$work/list.out" && grep -qw "$name64" "$work/list.out" \
    && pass "snapshot list shows snap1 and the 64-character one" || { fail "snapshot list (exit $rc)"; cat "$work/list.out"; }
snap delete "$name64" >/dev/null 2>&1 && pass "delete the 64-character one" || fail "delete the 64-character one"
nfs-ls "$(url /)" >"$work/ls-root" 2>&1
grep -q '\.snapshot' "$work/ls-root" && fail "libnfs READDIR of / lists .snapshot" \
    || pass "libnfs READDIR of / does not list .snapshot"
nfs-cat "$(url /.snapshot/snap1/tree/a/f3)" 2>&1 | grep -qx "file a/f3, line one" \
    && pass "libnfs reads a file deleted in live from the snapshot" || fail "libnfs read from the snapshot"

# --------------------------------------------------------------- restart --
stop_server && pass "server stops cleanly" || fail "server stops cleanly"
PORT_OVERRIDE=$PORT start_server "$work" "${serve_args[@]}" || { fail "server restarts"; summary; exit 1; }
snap list >"$work/list.out" 2>&1; rc=$?
[ $rc = 0 ] && grep -qw snap1 "$work/list.out" && pass "after the restart snapshot list shows snap1" \
    || { fail "after the restart snapshot list (exit $rc)"; cat "$work/list.out"; }

# ----------------------------------------------------------------- boot 2 --
"$RUN" --no-mount --port "$PORT" --timeout 400 \
    -- "$ROOT/tests/vm/snapshot-guest.sh" restart "$PORT" >"$work/vm2.out" 2>"$work/vm2.err" &
vm2=$!
if host_wait ready-delete $vm2; then
    if snap delete snap1 >"$work/delete.out" 2>&1; then
        pass "snapshot delete snap1 while the guest holds it mounted: $(cat "$work/delete.out")"
        host_mark deleted ok
    else
        fail "snapshot delete snap1: $(cat "$work/delete.out")"
        host_mark deleted "delete failed"
    fi
    snap list >"$work/list.out" 2>&1
    grep -qw snap1 "$work/list.out" && fail "snapshot list still shows snap1" || pass "snapshot list no longer shows snap1"
else
    fail "guest 2 reached the delete (no ready-delete marker)"
fi
wait $vm2
echo "vm2: exit $? $(grep -E 'RESULT|timings' "$work/vm2.err" | tr '\n' ' ')"
guest_results "$work/vm2.out" restart
nfs-ls "$(url /.snapshot/snap1/)" >/dev/null 2>&1 && fail "libnfs still lists the deleted snapshot" \
    || pass "libnfs cannot list the deleted snapshot"

# ------------------------------------------------------ no-server fallback --
stop_server && pass "server stops cleanly after the guest's run" || fail "server stops cleanly after the guest's run"
snap create offline1 >"$work/create.out" 2>"$work/create.err" \
    && pass "snapshot create with no server: $(cat "$work/create.out") ($(wc -l <"$work/create.err") stderr lines)" \
    || fail "snapshot create with no server: $(cat "$work/create.out" "$work/create.err" | tail -3)"
snap list >"$work/list.out" 2>&1; rc=$?
[ $rc = 0 ] && grep -qw offline1 "$work/list.out" && ! grep -qw snap1 "$work/list.out" \
    && pass "snapshot list with no server shows offline1 only" || { fail "snapshot list with no server (exit $rc)"; cat "$work/list.out"; }
one_line "create of a duplicate name with no server" 1 create offline1
one_line "delete of a missing name with no server" 1 delete snap1
PORT_OVERRIDE=$PORT start_server "$work" "${serve_args[@]}" || { fail "server starts after the offline create"; summary; exit 1; }
nfs-ls "$(url /.snapshot/offline1/)" >"$work/ls-off" 2>&1 && grep -qw tree "$work/ls-off" \
    && pass "offline1 is browsable: $(tr -s ' \n' ' ' <"$work/ls-off")" || { fail "offline1 is browsable"; cat "$work/ls-off"; }
nfs-cat "$(url /.snapshot/offline1/tree/a/new1)" 2>&1 | grep -qx new1 \
    && pass "offline1 holds the changed tree" || fail "offline1 holds the changed tree"
check "SIGTERM exits 0" stop_server

# ------------------------------------------------------ scheduled snapshots --
# The first automatic snapshot is due at start (there is none yet); manual ones stay.
PORT_OVERRIDE=$PORT start_server "$work" "${serve_args[@]}" --snapshot-every 1m --snapshot-keep 1 \
    || { fail "server starts with --snapshot-every"; summary; exit 1; }
auto=
for _ in $(seq 1 300); do
    auto=$(snap list 2>/dev/null | grep -E '^auto-[0-9]{8}T[0-9]{4}Z +[0-9a-f-]{36} +[^ ]+ +auto ' | cut -d' ' -f1)
    [ -n "$auto" ] && break
    sleep 0.2
done
[ -n "$auto" ] && pass "an automatic snapshot is taken at start: $auto" || fail "no automatic snapshot within 60 s"
snap list 2>/dev/null | grep -qw offline1 && pass "the manual snapshot is kept beside it" \
    || fail "the manual snapshot is kept beside it"
[ -n "$auto" ] && nfs-ls "$(url /.snapshot/$auto/)" 2>/dev/null | grep -qw tree \
    && pass "the automatic snapshot is browsable" || fail "the automatic snapshot is browsable"
check "SIGTERM exits 0 with the scheduler running" stop_server
if grep -E "panic|ERROR" "$work/server.log" >"$work/errors"; then
    fail "server log has $(wc -l <"$work/errors") ERROR/panic lines:"; head -5 "$work/errors"
else
    pass "no ERROR or panic in the server log"
fi
echo "snapshots.sh took $(( $(date +%s) - T0 )) s"
summary
