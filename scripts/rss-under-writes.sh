#!/usr/bin/env bash
# Peak memory of slatenfs while clients write GIB (default 10) GiB through it.
#
# Starts slatenfs with `make run`'s settings (local-disk store, SLATEDB_CACHE_SIZE_GB=4, all
# cores), then runs `slatenfs-bench --workload seqwrite` (4 connections x 16 WRITEs of 1 MiB
# in flight, files of SEQWRITE_FILE_MB MiB, COMMIT at the end of each, files removed after
# each run) in 20-second runs until GIB GiB have been written. Samples the server's RSS every
# second and prints the peak (VmHWM), the RSS at the end, and object-store write amplification.
#
# Settings (environment): GIB=10 SEQWRITE_FILE_MB=1024 CACHE_SIZE_GB=4 OUT=target/rss-under-writes
#   BIN, BENCH: the slatenfs and slatenfs-bench binaries (default target/release/...).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GIB=${GIB:-10}
SEQWRITE_FILE_MB=${SEQWRITE_FILE_MB:-1024}
OUT=${OUT:-$ROOT/target/rss-under-writes}
BIN=${BIN:-$ROOT/target/release/slatenfs}
BENCH=${BENCH:-$ROOT/target/release/slatenfs-bench}
PORT=${PORT:-13149}
[ -x "$BIN" ] && [ -x "$BENCH" ] || { echo "rss-under-writes: build first (cargo build --release --bins)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/slatenfs-rss.XXXXXX)
mkdir -p "$OUT" "$work/cache"
spid=
cleanup() {
    set +e
    [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    cp "$work"/*.log "$work"/*.txt "$OUT"/ 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=${CACHE_SIZE_GB:-4} \
    RUST_LOG=warn,slatenfs::server=info \
    "$BIN" serve --listen "127.0.0.1:$PORT" --storage "file://$work/data" --rpcbind off >"$work/slatenfs.log" 2>&1 &
spid=$!
for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$spid" || { echo "rss-under-writes: slatenfs did not start" >&2; tail -5 "$work/slatenfs.log" >&2; exit 1; }
    sleep 0.1
done

# RSS sampler: one line per second, "seconds rss_kib".
( t=0; while kill -0 "$spid" 2>/dev/null; do
    awk -v t="$t" '/^VmRSS/ {print t, $2}' "/proc/$spid/status" 2>/dev/null || true
    sleep 1; t=$((t + 1))
  done ) >"$work/rss.txt" &
sampler=$!

target=$((GIB * 1024 * 1024 * 1024))
written=0 run=0
while [ "$written" -lt "$target" ]; do
    run=$((run + 1))
    line=$("$BENCH" --server 127.0.0.1 --port "$PORT" --conns 4 --depth 16 --seconds 20 \
        --workload seqwrite --dir "rss-$run" --seqwrite-file-mb "$SEQWRITE_FILE_MB" 2>>"$work/bench.log")
    echo "$line" >>"$work/runs.txt"
    n=$(echo "$line" | sed -n 's/.*"client_bytes_written":\([0-9]*\).*/\1/p')
    [ -n "$n" ] && [ "$n" -gt 0 ] || { echo "rss-under-writes: run $run wrote nothing: $line" >&2; exit 1; }
    written=$((written + n))
    echo "rss-under-writes: run $run: $((n >> 20)) MiB ($((written >> 20)) MiB in all); RSS now $(awk '/^VmRSS/ {print int($2/1024)}' /proc/$spid/status) MiB" >&2
done
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$spid/status")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$spid/status")
kill -TERM "$spid"; wait "$spid" || true; spid=
wait "$sampler" 2>/dev/null || true
put=$(sed -n 's/.*object store totals: .* put_bytes=\([0-9]*\).*/\1/p' "$work/slatenfs.log" | tail -1)
echo "written by clients: $((written >> 20)) MiB in $run runs"
echo "slatenfs peak RSS (VmHWM): $((hwm / 1024)) MiB; RSS at the end: $((rss / 1024)) MiB"
echo "RSS samples (s MiB), every 10 s:"
awk 'NR % 10 == 1 {printf "  %s %d\n", $1, $2 / 1024}' "$work/rss.txt"
[ -n "$put" ] && python3 -c "print(f'object store put bytes / client bytes: {$put / $written:.2f}x')"
