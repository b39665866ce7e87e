#!/usr/bin/env bash
# The fault campaign: the crash campaign's acknowledged workload (slatenfs-bench --workload
# ack) for ROUND_SECONDS while the object store fails, delays and loses replies on a seeded
# schedule and goes out entirely for 2 s of every 8 (`serve --inject-faults`, a test-only
# setting). The server must stay up through it, clients see JUKEBOX (retried) or the errors
# the README documents, and afterwards every acknowledged change is there, the server stops
# cleanly once the store answers, and fsck is clean. FAULTS overrides the schedule;
# CAMPAIGN_STORAGE=file|s3.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
ROUND_SECONDS=${ROUND_SECONDS:-20}
KIND=${CAMPAIGN_STORAGE:-file}
default_faults=seed=11,put_wal:error@0.05,put_sst:error@0.1,get:error@0.02,get:delay=30ms@0.1,list:delay=50ms@0.2,delete:error@0.2,outage=error:2s/8s
# A lost reply of a WAL PUT (made, then reported failed) is retried by SlateDB as a create of
# the same object, which only a store that keeps SlateDB's put-id attribute can tell apart from
# another writer's (S3 can; the local-disk store cannot, and SlateDB then takes itself for
# fenced). So only S3 runs lose replies.
[ "$KIND" = s3 ] && default_faults="$default_faults,put_wal:lost@0.02"
FAULTS=${FAULTS:-$default_faults}
BENCH=${SLATENFS_BENCH:-$(dirname "$BIN")/slatenfs-bench}
work=$(mktemp -d)
MOTO_PID=
cleanup() { stop_server; [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
echo "fault campaign: storage $KIND, --inject-faults $FAULTS"
campaign_storage "$work" faults || { fail "storage ($KIND)"; summary; exit 1; }
store=("${STORE_ARGS[@]}")
log=$work/ack.log
bench() { "$BENCH" --server 127.0.0.1 --port "$PORT" --dir faults --ack-log "$log" --seed 11 \
              --timeout 120 "$@"; }

start_server "$work" "${store[@]}" --store-wait 3 --object-store-timeout 5 \
    --inject-faults "$FAULTS" || { fail "server starts"; summary; exit 1; }
bench --workload ack --round 1 --conns 3 --seconds "$ROUND_SECONDS" --file-mb 4 \
    >"$work/load.out" 2>"$work/load.err"
echo "load: $(tail -1 "$work/load.out")"
kill -0 "$SERVER_PID" 2>/dev/null && pass "the server stayed up through $ROUND_SECONDS s of faults" \
    || { fail "the server died under faults"; tail -20 "$work/server.log"; }
if check_json=$(bench --workload ack --check 2>"$work/check.err"); then
    pass "every acknowledged change is there: $check_json"
else
    fail "acknowledged state after the faults: $check_json"; grep LOST "$work/check.err" | head -20
fi
check "SIGTERM stops the server with 0 once the store answers" stop_server
grep -h "fault injection:" "$work/server.log" | tail -1
grep -Eq "fault injection: [1-9][0-9]* faults injected" "$work/server.log" && pass "faults were injected" \
    || fail "no fault was injected"
SLATEDB_CACHE_DIR=$work/cache "$BIN" fsck "${store[@]}" >"$work/fsck.out" 2>&1 \
    && pass "fsck clean after the faults: $(grep inodes "$work/fsck.out" | sed 's/^ *//')" \
    || { fail "fsck after the faults"; cat "$work/fsck.out"; }
summary
