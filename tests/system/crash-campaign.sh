#!/usr/bin/env bash
# The crash campaign: the ack workload of slatenfs-bench (every acknowledgement logged) against
# the real server, which is killed with SIGKILL at a random moment KILLS times and started
# again at once each time. After each kill, `slatenfs fsck` of the crashed storage must be
# clean; after each restart (which must listen within RESTART_LIMIT s), every acknowledged-
# durable byte and namespace change must be there and everything else whole or absent
# (`slatenfs-bench --workload ack --check`).
#
# CAMPAIGN_STORAGE=file|s3 (s3: moto), KILLS (3), SEED (fixed for make test; make soak gives fresh ones; printed), ROUND_MB (data per
# worker per round, 4), CONNS (3 workers), EXTRA_SERVE_ARGS (e.g. --inject-faults ...).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
KILLS=${KILLS:-3}
KIND=${CAMPAIGN_STORAGE:-file}
SEED=${SEED:-20261203}
ROUND_MB=${ROUND_MB:-4}
CONNS=${CONNS:-3}
BENCH=${SLATENFS_BENCH:-$(dirname "$BIN")/slatenfs-bench}
read -r -a extra <<<"${EXTRA_SERVE_ARGS:-}"
work=$(mktemp -d)
MOTO_PID=
cleanup() { stop_server; [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
RANDOM=$SEED
echo "crash campaign: storage $KIND, $KILLS kills, seed $SEED"

campaign_storage "$work" campaign || { fail "storage ($KIND)"; summary; exit 1; }
store=("${STORE_ARGS[@]}")
log=$work/ack.log
bench() { "$BENCH" --server 127.0.0.1 --port "$PORT" --dir campaign --ack-log "$log" \
              --seed "$SEED" --timeout 120 "$@"; }
crashed_fsck() {
    SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=1 "$BIN" fsck "${store[@]}" >"$work/fsck.out" 2>&1
}

start_server "$work" "${store[@]}" "${extra[@]}" || { fail "server starts"; summary; exit 1; }
kills=0 lost_total=0 fsck_clean=0 restart_max=0 check_json=
for k in $(seq 1 "$KILLS"); do
    bench --workload ack --round "$k" --conns "$CONNS" --seconds 60 --file-mb "$ROUND_MB" \
        >>"$work/load.out" 2>>"$work/load.err" &
    load=$!
    # A random moment 0.3 to 3 s into the round.
    sleep "$(( RANDOM % 28 / 10 )).$(( RANDOM % 10 ))"; sleep 0.3
    kill9_server; kills=$((kills + 1))
    wait "$load" 2>/dev/null
    if crashed_fsck; then
        fsck_clean=$((fsck_clean + 1))
    else
        fail "kill $k: fsck of the crashed storage"; cat "$work/fsck.out"
    fi
    if ! restart_at_once "$work" "${store[@]}" "${extra[@]}"; then
        fail "kill $k: restart at once"; break
    fi
    [ "$RESTART_MS" -gt "$restart_max" ] && restart_max=$RESTART_MS
    if check_json=$(bench --workload ack --check 2>"$work/check.err"); then
        pass "kill $k: acknowledged state intact after restart ($RESTART_MS ms): $check_json"
    else
        fail "kill $k: acknowledged state after restart: $check_json"
        grep LOST "$work/check.err" | head -20
        lost_total=$((lost_total + 1))
    fi
done
check "SIGTERM stops the server with 0" stop_server
crashed_fsck && pass "fsck clean at the end: $(grep inodes "$work/fsck.out" | sed 's/^ *//')" \
    || { fail "fsck at the end"; cat "$work/fsck.out"; }
num() { echo "$check_json" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
echo "campaign: storage=$KIND seed=$SEED kills=$kills ops_logged=$(num ops_logged) \
ops_verified=$(num ops_verified) bytes_verified=$(num bytes_verified) \
lost=$(( lost_total + $(num lost || echo 0) )) fsck_clean=$fsck_clean/$kills restart_max_ms=$restart_max"
summary
