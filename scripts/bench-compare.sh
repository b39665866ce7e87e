#!/usr/bin/env bash
# Side-by-side: slatenfs (local-disk store) and NFS-Ganesha (FSAL_VFS), same machine, same run,
# every workload in alternation (A B A B ...) for ROUNDS rounds; prints medians and the ratio.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNS=${CONNS:-4}
DEPTH=${DEPTH:-16}
WORKLOADS=${WORKLOADS:-getattr lookup create seqwrite seqread randread randwrite readdir mixed}
BENCH=$ROOT/target/release/slatenfs-bench
BIN=$ROOT/target/release/slatenfs

if ! command -v ganesha.nfsd >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq nfs-ganesha nfs-ganesha-vfs >/dev/null
fi
(cd "$ROOT" && cargo build --release --bins)

work=$(mktemp -d /var/tmp/slatenfs-bench.XXXXXX)
gpid=; spid=
cleanup() { [ -n "$gpid" ] && kill "$gpid" 2>/dev/null; [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/export" "$work/cache"
cat >"$work/ganesha.conf" <<CONF
NFS_CORE_PARAM { NFS_Port = 12049; MNT_Port = 12050; NFS_Protocols = 3; Enable_NLM = false;
  Enable_RQUOTA = false; Enable_UDP = false; Bind_Addr = 127.0.0.1; Mount_Path_Pseudo = true; }
NFSV4 { Graceless = true; RecoveryBackend = fs; }
EXPORT { Export_Id = 1; Path = $work/export; Pseudo = /; Protocols = 3; Transports = TCP;
  Access_Type = RW; Squash = none; SecType = sys; PrivilegedPort = false; FSAL { Name = VFS; } }
LOG { Default_Log_Level = EVENT; }
CONF
ganesha.nfsd -F -f "$work/ganesha.conf" -L "$work/ganesha.log" -p "$work/ganesha.pid" -N NIV_EVENT &
gpid=$!
SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=2 RUST_LOG=warn \
    "$BIN" serve --listen 127.0.0.1:13049 --storage "file://$work/data" &
spid=$!
sleep 3

run() { # run NAME PORT MOUNTPORT WORKLOAD
    "$BENCH" --server 127.0.0.1 --port "$2" --mountport "$3" --conns "$CONNS" --depth "$DEPTH" \
        --seconds "$SECONDS_PER_RUN" --workload "$4" --dir "bench-$1-$4" 2>>"$work/bench.err"
}
results=$work/results.jsonl
for w in $WORKLOADS; do
    for r in $(seq 1 "$ROUNDS"); do
        echo "round $r $w: slatenfs" >&2
        run slatenfs 13049 13049 "$w" | sed "s/^{/{\"server\":\"slatenfs\",/" >>"$results" || true
        echo "round $r $w: ganesha" >&2
        run ganesha 12049 12050 "$w" | sed "s/^{/{\"server\":\"ganesha\",/" >>"$results" || true
    done
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
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
PY
