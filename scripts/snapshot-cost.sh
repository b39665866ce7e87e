#!/usr/bin/env bash
# What a snapshot costs: the time `slatenfs snapshot create` takes after many creates and after
# a stream of writes, and the object-store bytes a snapshot alone keeps once the live files
# moved on (the EXCLUSIVE column of `snapshot list`).
#   EXTRA="--simulate-object-store 20ms" scripts/snapshot-cost.sh   # at S3-like request times
# BIN and BENCH default to the release binaries; SECS is the create phase's length.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/slatenfs}; BENCH=${BENCH:-$ROOT/target/release/slatenfs-bench}
work=$(mktemp -d); trap 'kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=1
# shellcheck disable=SC2086 # EXTRA is a list of flags
"$BIN" serve --listen "127.0.0.1:$port" --rpcbind off --storage "file://$work/data" ${EXTRA:-} >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
snap() { "$BIN" snapshot "$@" --storage "file://$work/data"; }
bench() { "$BENCH" --port "$port" --keep "$@" | tail -1; }
echo "creates: $(bench --workload create --seconds "${SECS:-10}" --dir many)"
for i in 1 2 3; do snap create "after-creates-$i"; done
echo "writes: $(bench --workload seqwrite --seconds 5 --dir data --seqwrite-file-mb 64)"
snap create with-data
echo "writes over the same files: $(bench --workload seqwrite --seconds 5 --dir data --seqwrite-file-mb 64)"
sleep 15 # compaction moves the live state off the snapshot's tables
snap list
kill -TERM "$pid"; wait "$pid"
