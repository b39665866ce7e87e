#!/usr/bin/env bash
# Read-only replicas: a writer and a replica (serve --read-only, its own cache directory and port)
# on one file:// storage, with libnfs clients. Each file the writer acknowledged appears on the
# replica with the same bytes; the time from the writer's answer to the replica's first good read
# is the replica's lag (printed). An overwrite appears too (the replica's caches do not keep the
# old bytes). A write to the replica fails with ROFS. The writer is not fenced by the replica's
# start or stop: it goes on taking writes. Both stop cleanly. CAMPAIGN_STORAGE=s3 runs the two on
# moto's S3 server instead of a local directory.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
WRITER_PID= REPLICA_PID=
cleanup() {
    SERVER_PID=$REPLICA_PID stop_server
    SERVER_PID=$WRITER_PID stop_server
    [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
url() { echo "nfs://127.0.0.1//$2?version=3&nfsport=$1&mountport=$1"; }
campaign_storage "$work" replica || { fail "storage"; summary; exit 1; }
store=("${STORE_ARGS[@]}")
files=${REPLICA_FILES:-20}
limit_ms=${REPLICA_LAG_LIMIT_MS:-30000} # a bound for a stuck replica; the lags are printed
poll=${REPLICA_POLL:-1} # --replica-poll of the replica
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# until_on_replica COMMAND...: runs COMMAND until it succeeds (at most limit_ms); prints the
# milliseconds that took, fails if it never did.
until_on_replica() {
    local t0 t
    t0=$(now_ms)
    while :; do
        if "$@"; then echo $(($(now_ms) - t0)); return 0; fi
        t=$(($(now_ms) - t0))
        [ "$t" -lt "$limit_ms" ] || { echo "$t"; return 1; }
        sleep 0.02
    done
}
reads_as() { nfs-cat "$(url "$RPORT" "$1")" 2>/dev/null | cmp -s - "$2"; } # reads_as NAME FILE
is_gone() { ! nfs-cat "$(url "$RPORT" "$1")" >/dev/null 2>&1; }
helper() { "$work/nfs-helper" "nfs://127.0.0.1/?version=3&nfsport=$1&mountport=$1" "${@:2}"; }

mkdir -p "$work/writer" "$work/replica" "$work/empty"
gcc -O2 -Wall -o "$work/nfs-helper" "$ROOT/tests/interop/nfs-helper.c" -lnfs \
    || { fail "build tests/interop/nfs-helper.c (needs gcc and libnfs-dev)"; summary; exit 1; }
out=$(env -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID SLATEDB_CACHE_DIR=$work/empty/cache SLATEDB_CACHE_SIZE_GB=1 timeout 60 "$BIN" serve \
      --listen "127.0.0.1:$(free_port)" --rpcbind off --read-only --storage "file://$work/empty/data" 2>&1)
rc=$?
[ $rc -ne 0 ] && [ "$(echo "$out" | grep -c .)" -eq 1 ] && echo "$out" | grep -q -- "--read-only" \
    && pass "a replica of storage without a filesystem refuses to start: $out" \
    || fail "a replica of storage without a filesystem refuses to start (exit $rc): $out"

start_server "$work/writer" "${store[@]}" || { fail "writer starts"; summary; exit 1; }
WRITER_PID=$SERVER_PID WPORT=$PORT
head -c 100000 /dev/urandom >"$work/first"
nfs-cp "$work/first" "$(url "$WPORT" first)" >/dev/null || fail "nfs-cp first to the writer"
start_server "$work/replica" "${store[@]}" --read-only --replica-poll "$poll" || { fail "replica starts"; summary; exit 1; }
REPLICA_PID=$SERVER_PID RPORT=$PORT
grep -q "no lock manager on a read-only replica" "$work/replica/server.log" \
    && pass "the replica serves no lock manager and says so" || fail "the replica's lock manager line"
check "the replica serves what was written before it started" cmp <(nfs-cat "$(url "$RPORT" first)") "$work/first"

lags=()
for i in $(seq 1 "$files"); do
    head -c $((4096 + RANDOM * 8)) /dev/urandom >"$work/f$i"
    # A pause of 0-1 s, so that the writes land at every point of the replica's poll cycle.
    sleep "0.$((RANDOM % 10))"
    nfs-cp "$work/f$i" "$(url "$WPORT" "f$i")" >/dev/null || { fail "nfs-cp f$i to the writer"; continue; }
    if lag=$(until_on_replica reads_as "f$i" "$work/f$i"); then lags+=("$lag"); else fail "f$i on the replica within ${limit_ms} ms"; fi
done
if [ ${#lags[@]} -eq "$files" ]; then
    stats=$(printf '%s\n' "${lags[@]}" | sort -n | awk '{a[NR]=$1; s+=$1} END {
        printf "max %.2f s, median %.2f s, mean %.2f s over %d files", a[NR]/1000, a[int((NR+1)/2)]/1000, s/NR/1000, NR}')
    echo "replica lag: $stats (--replica-poll $poll, ${CAMPAIGN_STORAGE:-file} storage)"
    pass "every file written to the writer reads the same on the replica; lag $stats"
fi

# A name that the replica has read, removed and made again with other bytes on the writer.
helper "$WPORT" unlink /first || fail "unlink first on the writer"
lag=$(until_on_replica is_gone first) && pass "a remove on the writer is seen by the replica after $lag ms" \
    || fail "a remove on the writer is seen by the replica"
head -c 200000 /dev/urandom >"$work/second"
nfs-cp "$work/second" "$(url "$WPORT" first)" >/dev/null || fail "nfs-cp first again to the writer"
lag=$(until_on_replica reads_as first "$work/second") \
    && pass "the name made again on the writer reads the new bytes on the replica after $lag ms" \
    || fail "the name made again on the writer reads the new bytes on the replica"

out=$(nfs-cp "$work/f1" "$(url "$RPORT" onto-replica)" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -qi "ROFS\|read-only" && pass "a write to the replica fails: $(echo "$out" | head -1)" \
    || fail "a write to the replica fails with ROFS (exit $rc): $out"
check "the refused write left nothing on the writer" bash -c "! nfs-cat '$(url "$WPORT" onto-replica)' >/dev/null 2>&1"

nfs-cp "$work/f2" "$(url "$WPORT" while-replica)" >/dev/null \
    && check "the writer takes writes beside the replica" cmp <(nfs-cat "$(url "$WPORT" while-replica)") "$work/f2" \
    || fail "the writer takes writes beside the replica"
SERVER_PID=$REPLICA_PID; check "the replica stops cleanly (SIGTERM, exit 0)" stop_server; REPLICA_PID=
totals=$(grep -o "object store totals: .*" "$work/replica/server.log")
echo "$totals" | grep -q "puts=0 " && pass "the replica wrote nothing to the storage: $totals" \
    || fail "the replica wrote nothing to the storage: $totals"
nfs-cp "$work/f3" "$(url "$WPORT" after-replica)" >/dev/null \
    && check "the writer takes writes after the replica stopped" cmp <(nfs-cat "$(url "$WPORT" after-replica)") "$work/f3" \
    || fail "the writer takes writes after the replica stopped"
check "the writer was never fenced" bash -c "kill -0 $WRITER_PID && ! grep -qi fenced '$work/writer/server.log'"
SERVER_PID=$WRITER_PID; check "the writer stops cleanly (SIGTERM, exit 0)" stop_server; WRITER_PID=
summary
