#!/usr/bin/env bash
# The Prometheus endpoint (--metrics-listen) over a real socket, and the simulated object store
# (--simulate-object-store) it measures: NFS calls, object-store requests and WAL flushes are
# counted as they happen; every WAL flush waits at least the simulated PUT time; concurrent
# durable creates share WAL flushes; a bad address is one line and exit 2.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
BENCH=${SLATENFS_BENCH:-$(dirname "$BIN")/slatenfs-bench}
work=$(mktemp -d); trap 'stop_server; rm -rf "$work"' EXIT
PUT_MS=30

out=$(SLATEDB_CACHE_DIR=$work/bad SLATEDB_CACHE_SIZE_GB=1 "$BIN" serve --listen 127.0.0.1:1 --metrics-listen 9100 2>&1)
rc=$?
[ "$rc" = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q -- "--metrics-listen" \
    && pass "a bad --metrics-listen is one line and exit 2" \
    || fail "bad --metrics-listen: rc=$rc: $out"

mport=$(free_port)
serve_args=(--storage "file://$work/data" --metrics-listen "127.0.0.1:$mport"
    --simulate-object-store "get=2ms,put=${PUT_MS}ms,list=2ms,delete=2ms")
start_server "$work" "${serve_args[@]}" || { fail "server starts"; summary; exit 1; }
grep -q "SIMULATES S3 request times" "$work/server.log" \
    && pass "the simulation is announced in the log" || fail "simulation warning in the log"

scrape() { curl -sf "http://127.0.0.1:$mport/metrics"; }
# value NAME_AND_LABELS: the sample's value in the last scrape ($work/m), 0 if absent.
value() { awk -v k="$1" '$1 == k { print $2; found=1 } END { if (!found) print 0 }' "$work/m"; }

check "GET /metrics answers" eval "scrape >/dev/null"
scrape >"$work/m"
tail -1 "$work/m" | grep -qx "# EOF" && pass "the exposition is OpenMetrics text ending in # EOF" \
    || fail "exposition ends with # EOF"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/other")
[ "$code" = 404 ] && pass "other paths get 404" || fail "other paths: HTTP $code"

"$BENCH" --server 127.0.0.1 --port "$PORT" --workload create --conns 2 --depth 8 --seconds 3 \
    --dir metrics >"$work/bench.json" 2>"$work/bench.err" \
    || { fail "create load: $(tail -3 "$work/bench.err")"; }
ops=$(grep -o '"ops":[0-9]*' "$work/bench.json" | cut -d: -f2)
scrape >"$work/m"
creates=$(value 'slatenfs_nfs_calls_total{procedure="create"}')
flushes=$(value slatenfs_wal_flushes_total)
flush_sum=$(value slatenfs_wal_flush_duration_seconds_sum)
flush_count=$(value slatenfs_wal_flush_duration_seconds_count)
puts=$(value 'slatenfs_object_store_requests_total{kind="put_wal"}')
echo "metrics: bench ops=$ops CREATE calls=$creates WAL flushes=$flushes (${flush_sum} s in $flush_count) WAL PUTs=$puts"
[ "${ops:-0}" -gt 0 ] && [ "${creates%.*}" -ge "$ops" ] \
    && pass "CREATE calls counted ($creates for $ops acknowledged)" \
    || fail "CREATE calls: $creates for ${ops:-?} acknowledged"
[ "${puts%.*}" -gt 0 ] && pass "WAL PUTs counted ($puts)" || fail "WAL PUTs: $puts"
python3 -c "import sys; s,c=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if c>0 and s/c>=$PUT_MS/1000 else 1)" \
    "$flush_sum" "$flush_count" \
    && pass "every WAL flush waited for the simulated ${PUT_MS} ms PUT" \
    || fail "WAL flush time: $flush_sum s over $flush_count flushes"
# Each create is a durable CREATE and a durable COMMIT; with 16 in flight they share flushes.
python3 -c "import sys; sys.exit(0 if float(sys.argv[2])>0 and float(sys.argv[1])/float(sys.argv[2])>=2 else 1)" \
    "$creates" "$flushes" \
    && pass "concurrent durable creates share WAL flushes ($creates creates, $flushes flushes)" \
    || fail "creates per WAL flush: $creates / $flushes"
failed=$(awk '/^slatenfs_object_store_failures_total/ { n += $2 } END { print n + 0 }' "$work/m")
[ "$failed" = 0 ] && pass "a healthy store shows no failed requests (not-found probes and lost races are answers)" \
    || fail "failed object-store requests on a healthy store: $(grep "^slatenfs_object_store_failures_total" "$work/m" | grep -v " 0$" | tr "\n" " ")"
grep -q '^slatenfs_connections ' "$work/m" && pass "open connections are a gauge" \
    || fail "connections gauge"

# Read-ahead: a file written before a restart (so in no cache) read from start to end.
seq_load() {
    "$BENCH" --server 127.0.0.1 --port "$PORT" --workload seqread --conns 1 --depth 4 \
        --seconds 2 --file-mb 32 --dir metrics-seq "$@" >"$work/seq.json" 2>"$work/seq.err"
}
seq_load --setup-only || fail "seqread setup: $(tail -3 "$work/seq.err")"
check "SIGTERM stops the server with 0" stop_server
start_server "$work" "${serve_args[@]}" || { fail "server restarts"; summary; exit 1; }
seq_load || fail "seqread load: $(tail -3 "$work/seq.err")"
scrape >"$work/m"
fetched=$(value slatenfs_read_ahead_fetched_chunks_total)
used=$(value slatenfs_read_ahead_used_chunks_total)
echo "metrics: read-ahead fetched $fetched chunks, READs used $used"
[ "${fetched%.*}" -gt 0 ] && [ "${used%.*}" -gt 0 ] \
    && pass "read-ahead's chunks are counted, and sequential READs use them" \
    || fail "read-ahead: fetched $fetched, used $used"
check "SIGTERM stops the server with 0" stop_server
summary
