#!/usr/bin/env bash
# Side-by-side: slatenfs (local-disk store) and NFS-Ganesha (FSAL_VFS), same machine, same run,
# every workload in alternation (A B A B ...) for ROUNDS rounds; prints medians and the ratio,
# then slatenfs's write amplification and the servers' peak RSS.
#
# Settings (environment): ROUNDS=3 SECONDS_PER_RUN=10 CONNS=4 DEPTH=16
#   WORKLOADS="getattr lookup create seqwrite seqread randread randwrite readdir mixed"
#   FILE_MB=1024 (the large file of seqread/randread/randwrite; written once per server and
#   workload, then reused) SEQWRITE_FILE_MB=64 AMP_WORKLOADS="seqwrite randwrite"
#   OUT=target/bench-compare (results, server logs and bench stderr are kept there).
#   BIN, BENCH: the slatenfs and slatenfs-bench binaries (default target/release/...);
#   NO_BUILD=1 skips the build (to measure saved binaries, e.g. before/after a change).
#   SLATENFS_ARGS: extra `slatenfs serve` flags, e.g. SLATENFS_ARGS=--async (metadata replies
#   before durability, which is what Ganesha's FSAL_VFS does).
#   CACHE_SIZE_GB=4: slatenfs's SLATEDB_CACHE_SIZE_GB, the default of `make run`. Ganesha's
#   cache is the kernel's page cache (the whole of RAM); the local chunk caches of slatenfs
#   are split between its cores, and one file's chunks live on its owner core.
#
# Write amplification (slatenfs only): for each AMP_WORKLOADS run, the workload's setup is done
# first (--setup-only), then slatenfs is restarted so that its object-store counters start at
# zero, the timed run happens, and slatenfs is stopped with SIGTERM: it logs
# "object store totals: ... put_bytes=N ...". Amplification = put_bytes / client_bytes_written
# of that run (the WAL, L0 flushes and any compaction done before shutdown, including the final
# flush at shutdown; compaction debt left at shutdown is not counted). slatenfs is then started
# again for the remaining runs.
#
# Peak RSS: VmHWM from /proc/PID/status of every slatenfs process just before it is stopped
# (one process per stretch between restarts), and of Ganesha at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
SLATENFS_ARGS=${SLATENFS_ARGS:-}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNS=${CONNS:-4}
DEPTH=${DEPTH:-16}
WORKLOADS=${WORKLOADS:-getattr lookup create seqwrite seqread randread randwrite readdir mixed}
FILE_MB=${FILE_MB:-1024}
SEQWRITE_FILE_MB=${SEQWRITE_FILE_MB:-64}
AMP_WORKLOADS=${AMP_WORKLOADS:-seqwrite randwrite}
OUT=${OUT:-$ROOT/target/bench-compare}
BENCH=${BENCH:-$ROOT/target/release/slatenfs-bench}
BIN=${BIN:-$ROOT/target/release/slatenfs}
SPORT=13049 GPORT=12049 GMPORT=12050

if ! command -v ganesha.nfsd >/dev/null || ! command -v rpcbind >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq nfs-ganesha nfs-ganesha-vfs rpcbind >/dev/null
fi
# NO_BUILD=1 measures the binaries at $BIN / $BENCH as they are (e.g. a saved baseline).
[ -n "${NO_BUILD:-}" ] || (cd "$ROOT" && cargo build --release --bins)

work=$(mktemp -d /var/tmp/slatenfs-bench.XXXXXX)
mkdir -p "$work/export" "$work/cache" "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.jsonl "$OUT"/*.txt "$OUT"/bench.err
gpid=; spid=; rpcpid=; inst=0; phase=
log() { echo "bench-compare: $*" >&2; }

cleanup() {
    set +e
    [ -n "$gpid" ] && kill "$gpid" 2>/dev/null
    [ -n "$spid" ] && kill "$spid" 2>/dev/null
    wait 2>/dev/null
    [ -n "$rpcpid" ] && kill "$rpcpid" 2>/dev/null
    cp "$work"/*.log "$work"/*.jsonl "$work"/*.txt "$work"/bench.err "$OUT"/ 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# wait_port PORT PID: until PORT accepts connections (fails if PID exits or after 60 s).
wait_port() {
    for _ in $(seq 1 600); do
        kill -0 "$2" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

# Ganesha registers with rpcbind and exits if it cannot.
if ! rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
    mkdir -p /run/rpcbind
    rpcbind -w
    rpcpid=$(pidof rpcbind || true)
    log "started rpcbind (pid $rpcpid)"
fi

cat >"$work/ganesha.conf" <<CONF
NFS_CORE_PARAM { NFS_Port = $GPORT; MNT_Port = $GMPORT; NFS_Protocols = 3; Enable_NLM = false;
  Enable_RQUOTA = false; Enable_UDP = false; Bind_Addr = 127.0.0.1; Mount_Path_Pseudo = true; }
NFSV4 { Graceless = true; RecoveryBackend = fs; }
EXPORT { Export_Id = 1; Path = $work/export; Pseudo = /; Protocols = 3; Transports = TCP;
  Access_Type = RW; Squash = none; SecType = sys; PrivilegedPort = false; FSAL { Name = VFS; } }
LOG { Default_Log_Level = EVENT; }
CONF
ganesha.nfsd -F -f "$work/ganesha.conf" -L "$work/ganesha.log" -p "$work/ganesha.pid" -N NIV_EVENT &
gpid=$!
wait_port "$GPORT" "$gpid" && wait_port "$GMPORT" "$gpid" || {
    log "Ganesha did not start:"; grep -v DBUS "$work/ganesha.log" | tail -5 >&2; exit 1; }

# start_slatenfs: starts slatenfs on the same storage; up to 3 attempts (a failed start is
# recorded in crashes.txt and its log kept as slatenfs.N.log).
start_slatenfs() {
    local attempt
    for attempt in 1 2 3; do
        inst=$((inst + 1))
        phase=
        SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=${CACHE_SIZE_GB:-4} RUST_LOG=warn,slatenfs::server=info \
            "$BIN" serve --listen "127.0.0.1:$SPORT" --storage "file://$work/data" --rpcbind off $SLATENFS_ARGS \
            >"$work/slatenfs.$inst.log" 2>&1 &
        spid=$!
        if wait_port "$SPORT" "$spid" && sleep 1 && kill -0 "$spid" 2>/dev/null; then
            return 0
        fi
        local rc=0
        kill "$spid" 2>/dev/null || true
        wait "$spid" || rc=$?
        log "slatenfs process $inst failed to start (status $rc, attempt $attempt):"
        tail -3 "$work/slatenfs.$inst.log" >&2
        echo "slatenfs process $inst failed at start (status $rc): $(tail -1 "$work/slatenfs.$inst.log")" \
            >>"$work/crashes.txt"
    done
    exit 1
}

# stop_slatenfs: SIGTERM, wait; records VmHWM; sets last_put to put_bytes of the totals line.
# (Not in a subshell: `wait` needs the shell that started the server.)
last_put=0 last_wal=0
stop_slatenfs() {
    local hwm rc=0
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$spid/status" 2>/dev/null || echo 0)
    local label=${phase# }
    echo "slatenfs process $inst (${label:-idle}) ${hwm:-0}" >>"$work/rss.txt"
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" || rc=$?
    [ "$rc" = 0 ] || log "slatenfs process $inst exited with status $rc"
    spid=
    last_put=$(sed -n 's/.*object store totals: .* put_bytes=\([0-9]*\).*/\1/p' \
        "$work/slatenfs.$inst.log" | tail -1)
    last_wal=$(sed -n 's/.*object store totals: .*wal_put_bytes=\([0-9]*\).*/\1/p' \
        "$work/slatenfs.$inst.log" | tail -1)
}

# Restarts slatenfs if it died (and says so).
check_slatenfs() {
    if ! kill -0 "$spid" 2>/dev/null; then
        local rc=0
        wait "$spid" || rc=$?
        log "slatenfs process $inst DIED (status $rc) during: ${phase# }; see slatenfs.$inst.log"
        echo "slatenfs process $inst died (status $rc) during: ${phase# }" >>"$work/crashes.txt"
        start_slatenfs
    fi
}

bench() { # bench NAME PORT MOUNTPORT WORKLOAD [extra flags]
    local name=$1 port=$2 mport=$3 w=$4
    shift 4
    echo "=== $name $w $*" >>"$work/bench.err"
    "$BENCH" --server 127.0.0.1 --port "$port" --mountport "$mport" --conns "$CONNS" \
        --depth "$DEPTH" --seconds "$SECONDS_PER_RUN" --workload "$w" --dir "bench-$name-$w" \
        --file-mb "$FILE_MB" --seqwrite-file-mb "$SEQWRITE_FILE_MB" "$@" 2>>"$work/bench.err"
}

json_field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

start_slatenfs
results=$work/results.jsonl
amp=$work/amp.jsonl
for w in $WORKLOADS; do
    for r in $(seq 1 "$ROUNDS"); do
        check_slatenfs
        log "round $r $w: slatenfs"
        if [[ " $AMP_WORKLOADS " == *" $w "* ]]; then
            phase="$phase $w-setup"
            bench slatenfs "$SPORT" "$SPORT" "$w" --setup-only || log "setup of $w failed"
            stop_slatenfs
            start_slatenfs
            phase="$w"
            line=$(bench slatenfs "$SPORT" "$SPORT" "$w" || true)
            stop_slatenfs
            put=$last_put wal=$last_wal
            client=$(echo "$line" | json_field client_bytes_written)
            echo "{\"workload\":\"$w\",\"put_bytes\":${put:-0},\"wal_bytes\":${wal:-0},\"client_bytes\":${client:-0}}" >>"$amp"
            start_slatenfs
        else
            phase="$phase $w"
            line=$(bench slatenfs "$SPORT" "$SPORT" "$w" || true)
        fi
        echo "$line" | grep '^{' | sed "s/^{/{\"server\":\"slatenfs\",\"round\":$r,/" >>"$results" || true
        check_slatenfs
        log "round $r $w: ganesha"
        line=$(bench ganesha "$GPORT" "$GMPORT" "$w" || true)
        echo "$line" | grep '^{' | sed "s/^{/{\"server\":\"ganesha\",\"round\":$r,/" >>"$results" || true
        kill -0 "$gpid" 2>/dev/null || { log "Ganesha DIED"; echo "ganesha died during $w" >>"$work/crashes.txt"; exit 1; }
    done
done
stop_slatenfs
ghwm=$(awk '/^VmHWM/ {print $2}' "/proc/$gpid/status" 2>/dev/null || echo 0)
echo "ganesha ${ghwm:-0}" >"$work/ganesha-rss.txt"

python3 - "$results" "$amp" "$work/rss.txt" "$work/ganesha-rss.txt" "$work/crashes.txt" <<'PY'
import json, os, statistics, sys
res, amp, rss, grss, crashes = sys.argv[1:6]
rows = [json.loads(l) for l in open(res) if l.strip().startswith("{")] if os.path.exists(res) else []
by = {}
for r in rows:
    by.setdefault((r["workload"], r["server"]), []).append(r)
print(f"{'workload':<10} {'slatenfs ops/s':>15} {'ganesha ops/s':>15} {'ratio':>7} {'slatenfs MB/s':>14} {'ganesha MB/s':>13} {'p99 ms s/g':>14} {'errors s/g':>11}")
for w in dict.fromkeys(r["workload"] for r in rows):
    s, g = by.get((w, "slatenfs"), []), by.get((w, "ganesha"), [])
    med = lambda rs, k: statistics.median(x[k] for x in rs) if rs else float("nan")
    so, go = med(s, "ops_per_sec"), med(g, "ops_per_sec")
    ratio = so / go if go else float("nan")
    print(f"{w:<10} {so:>15.0f} {go:>15.0f} {ratio:>6.2f}x {med(s,'mb_per_sec'):>14.1f} {med(g,'mb_per_sec'):>13.1f} "
          f"{med(s,'p99_ms'):>6.2f}/{med(g,'p99_ms'):<7.2f} {sum(x['errors'] for x in s):>5}/{sum(x['errors'] for x in g):<5}")
print()
if os.path.exists(amp):
    amps = {}
    for l in open(amp):
        a = json.loads(l)
        amps.setdefault(a["workload"], []).append(a)
    print("slatenfs write amplification (object-store put bytes / client bytes written, per run):")
    for w, runs in amps.items():
        vals = [a["put_bytes"] / a["client_bytes"] for a in runs if a["client_bytes"]]
        wals = [a.get("wal_bytes", 0) / a["client_bytes"] for a in runs if a["client_bytes"]]
        each = " ".join(f"{v:.2f} (WAL {w:.2f})" for v, w in zip(vals, wals))
        tot_p = sum(a["put_bytes"] for a in runs); tot_c = sum(a["client_bytes"] for a in runs)
        m = f"{statistics.median(vals):.2f}x" if vals else "n/a"
        print(f"  {w:<10} median {m:>7}  runs: {each}  (total {tot_p/1e6:.0f} MB put for {tot_c/1e6:.0f} MB written)")
if os.path.exists(rss):
    procs = [l.rstrip("\n").rsplit(" ", 1) for l in open(rss) if l.strip()]
    peak = max(int(kb) for _, kb in procs) if procs else 0
    print(f"slatenfs peak RSS (VmHWM): {peak/1024:.0f} MiB (max over {len(procs)} server processes)")
    for label, kb in procs:
        print(f"  {label}: {int(kb)/1024:.0f} MiB")
if os.path.exists(grss):
    for l in open(grss):
        name, kb = l.split()
        print(f"ganesha peak RSS (VmHWM): {int(kb)/1024:.0f} MiB")
if os.path.exists(crashes):
    print("server failures:")
    for l in open(crashes):
        print("  " + l.rstrip())
PY
log "results, server logs and bench stderr: $OUT"
