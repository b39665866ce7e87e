#!/usr/bin/env bash
# One client, many small files: GNU tar extracts a source tree of about FILES files through the
# Linux kernel NFS client (the nfs-vm harness: QEMU guest, NFSv3 over TCP) onto a slatenfs whose
# object store takes LATENCY_MS per request (`serve --simulate-object-store`), once per mode
# (sync: metadata replies wait for durability; async: `--async`). The client is serial, so
# every reply that must be durable costs at least one object-store round trip: the table sets
# the round trips per file the wall time implies beside that floor.
#
# Per mode: fresh storage and cache, a server with the simulated latency and a metrics
# endpoint, a VM that mounts it and, in the guest, takes a metrics snapshot (busybox wget of the
# host's metrics port, so nothing crosses NFS), extracts the tarball (timed in the guest), takes
# a second snapshot, runs `sync`, takes a third. The counts are the differences (extraction +
# sync; the mount and unmount are outside them). The guest also counts the client's WRITE calls
# by stability and its COMMITs from the nfs:nfs_initiate_write/commit tracepoints (the server
# has no metric for stable vs unstable WRITEs), and reads per-procedure round-trip times from
# /proc/self/mountstats. With BASELINE=1 (the default) each mode also runs at 0 ms: what the VM
# and the server cost without store latency.
#
# The source tree is deterministic (SEED): FILES files in about DIRS directories, sizes like a
# source tree (most 1-20 KiB, a few up to ~200 KiB), modes 0644 (some 0755), owner 1000:1000,
# one mtime; tarred once on the host (uncompressed: TCG would spend seconds in gunzip) and
# shipped into the guest's RAM. The guest runs GNU tar as root, so it restores owners, modes
# and mtimes as a user extracting with sudo would (TAR_ARGS adds flags, e.g. --no-same-owner;
# TAR=busybox runs busybox's tar instead, whose client calls include a LOOKUP of each name).
#
# Settings (environment): LATENCY_MS=20 FILES=1000 DIRS=60 SEED=18 MODES="sync async"
#   BASELINE=1 (0: not every mode at 0 ms too) BANDWIDTH=100 (MB/s per request) TAR=gnu TAR_ARGS=
#   BIN=target/release/slatenfs PORT=14149 (METRICS_PORT=PORT+1) NFSVM_RUN=.../nfs-vm/run
#   OUT=target/tar-store-latency (tree, tarball, server and guest logs, results.jsonl)
# Runtime with the defaults: about 8 minutes on the 2-core development machine (sync at 20 ms
# takes 3 of them), most of it the guest (QEMU TCG) and its network.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LATENCY_MS=${LATENCY_MS:-20}
FILES=${FILES:-1000}
DIRS=${DIRS:-60}
SEED=${SEED:-18}
MODES=${MODES:-sync async}
BASELINE=${BASELINE:-1}
BANDWIDTH=${BANDWIDTH:-100}
TAR=${TAR:-gnu}
TAR_ARGS=${TAR_ARGS:-}
BIN=${BIN:-$ROOT/target/release/slatenfs}
PORT=${PORT:-14149}
METRICS_PORT=${METRICS_PORT:-$((PORT + 1))}
OUT=${OUT:-$ROOT/target/tar-store-latency}

log() { echo "tar-store-latency: $*" >&2; }
RUN=${NFSVM_RUN:-}
if [ -z "$RUN" ]; then
    for cand in "$ROOT/../shared/nfs-vm/run" "$ROOT/../../shared/nfs-vm/run"; do
        if [ -x "$cand" ]; then RUN=$cand; break; fi
    done
fi
[ -n "$RUN" ] && [ -x "$RUN" ] || { log "nfs-vm harness not found (set NFSVM_RUN)"; exit 1; }
[ -x "$BIN" ] || { log "no server binary at $BIN (set BIN)"; exit 1; }
tar --version 2>/dev/null | grep -q 'GNU tar' || { log "GNU tar is needed on the host"; exit 1; }

mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.out "$OUT"/results.jsonl
work=$(mktemp -d /var/tmp/slatenfs-tar.XXXXXX)
spid=
cleanup() {
    set +e
    [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------------ the tree and the tarball --
TARBALL=$OUT/tree-$FILES-$SEED.tar
if [ ! -f "$TARBALL" ]; then
    log "making the source tree ($FILES files, seed $SEED)"
    rm -rf "$work/tree"
    python3 - "$work/tree/src" "$FILES" "$DIRS" "$SEED" <<'PY'
import os, random, sys
top, files, dirs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
words = ("fn let mut self struct impl pub use match if else return Ok Err Some None u64 usize "
         "async await loop for in while break continue where trait enum const static").split()
# Directories: a tree up to four levels deep, each new one under a random earlier one.
paths = [""]
for i in range(dirs - 1):
    parent = rnd.choice(paths[: max(1, len(paths))])
    if parent.count("/") >= 3:
        parent = ""
    paths.append(f"{parent}/d{i:02d}".lstrip("/"))
for p in paths:
    os.makedirs(os.path.join(top, p), exist_ok=True)
def size():
    r = rnd.random()
    if r < 0.05:
        return rnd.randint(20 << 10, 200 << 10)   # a few big ones
    if r < 0.10:
        return rnd.randint(100, 1 << 10)          # a few tiny ones
    return int(min(20 << 10, max(1 << 10, rnd.lognormvariate(8.7, 0.7))))
def text(n):
    out, length = [], 0
    while length < n:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 12))) + "\n"
        out.append(line)
        length += len(line)
    return "".join(out)[:n].encode()
for i in range(files):
    d = paths[rnd.randrange(len(paths))]
    name = os.path.join(top, d, f"f{i:04d}.{rnd.choice(['rs', 'c', 'h', 'txt', 'sh'])}")
    with open(name, "wb") as f:
        f.write(text(size()))
    os.chmod(name, 0o755 if name.endswith(".sh") else 0o644)
PY
    tar -C "$work/tree" --sort=name --owner=1000 --group=1000 --numeric-owner \
        --mtime='2024-01-02 03:04:05Z' --format=gnu -cf "$TARBALL.tmp" src
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf "$work/tree"
fi
nfiles=$(tar -tvf "$TARBALL" | grep -c '^-')
ndirs=$(tar -tvf "$TARBALL" | grep -c '^d')
log "tarball: $nfiles files, $ndirs directories, $(($(tar -tvf "$TARBALL" | awk '/^-/ { s += $3 } END { print s }') / 1024)) KiB of data, $TARBALL"

# ------------------------------------------------------------------------------ the guest --
cat >"$work/guest.sh" <<'GUEST'
#!/bin/sh
# In the guest (busybox sh, root, cwd = the mount): $1 tarball, $2 host's metrics URL, $3 tar
# command, $4 its extra arguments.
tarball=$1 url=$2 tarcmd=$3 targs=$4
snap() { # snap NAME: the server's metrics (no histogram buckets), the client's per-op figures
    wget -q -O /tmp/m.$1 "$url" || echo "metrics snapshot $1 failed"
    awk '$1 == "device" { mine = ($5 == "/mnt/nfs") }
        mine && $1 == "per-op" { ops = 1; next }
        mine && ops && NF >= 9 && $1 ~ /:$/ { op = $1; sub(/:$/, "", op); print op, $2, $8, $9 }' \
        /proc/self/mountstats >/tmp/c.$1
}
now() { cut -d' ' -f1 /proc/uptime; }
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
T=/sys/kernel/tracing
echo 8192 >$T/buffer_size_kb
for e in nfs_initiate_write nfs_initiate_commit; do echo 1 >$T/events/nfs/$e/enable; done
mkdir x && cd x || exit 1
snap 0
t0=$(now)
$tarcmd $targs -xf "$tarball"
rc=$?
t1=$(now)
snap 1
sync
t2=$(now)
snap 2
for e in nfs_initiate_write nfs_initiate_commit; do echo 0 >$T/events/nfs/$e/enable; done
echo "tar exit $rc"
echo "times $t0 $t1 $t2"
echo "files $(find . -type f | wc -l) dirs $(find . -type d | wc -l)"
echo "client-writes $(grep -c 'nfs_initiate_write:' $T/trace) unstable $(grep -c 'stable=UNSTABLE' $T/trace) data_sync $(grep -c 'stable=DATA_SYNC' $T/trace) file_sync $(grep -c 'stable=FILE_SYNC' $T/trace) commits $(grep -c 'nfs_initiate_commit:' $T/trace)"
for s in 0 1 2; do
    echo "=== metrics $s"
    grep -E '^slatenfs_|^slatedb_(wal_|db_request_count|db_immutable|memtable_flush_(l0_flush|memtable_freeze)|compactor_ssts_written)' /tmp/m.$s |
        grep -Ev '_bucket\{|^slatedb_.*component="(compactor|gc)"'
    grep -E '^slatenfs_(wal_flush_duration_seconds_bucket|nfs_call_duration_seconds_bucket\{.*procedure="(create|mkdir|setattr|write|commit)"|object_store_request_duration_seconds_bucket\{.*kind="put_wal")' /tmp/m.$s
    echo "=== client $s"
    cat /tmp/c.$s
done
echo "=== end"
exit $rc
GUEST

# ------------------------------------------------------------------------------ the server --
start() { # start LATENCY MODE TAG
    local lat=$1 mode=$2 tag=$3 timing=() extra=()
    [ "$lat" = 0 ] && [ -z "$BANDWIDTH" ] ||
        timing=(--simulate-object-store "get=${lat}ms,put=${lat}ms,list=${lat}ms,delete=${lat}ms${BANDWIDTH:+,bandwidth=$BANDWIDTH}")
    [ "$mode" = async ] && extra=(--async)
    rm -rf "$work/data" "$work/cache"
    mkdir -p "$work/cache"
    SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=2 RUST_LOG=${RUST_LOG:-warn,slatenfs=info} \
        "$BIN" serve --listen "127.0.0.1:$PORT" --storage "file://$work/data" --rpcbind off \
        --no-lock-manager --metrics-listen "127.0.0.1:$METRICS_PORT" "${timing[@]}" "${extra[@]}" \
        >"$OUT/slatenfs.$tag.log" 2>&1 &
    spid=$!
    for _ in $(seq 1 600); do
        kill -0 "$spid" 2>/dev/null || { log "server exited; see $OUT/slatenfs.$tag.log"; exit 1; }
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    log "server did not listen"
    exit 1
}
stop() { # stop TAG
    local rc=0
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" || rc=$?
    [ "$rc" = 0 ] || log "server $1 exited with status $rc"
    spid=
}

case $TAR in
gnu) tarcmd=/usr/bin/tar ;; # by its path: busybox sh runs its own applet for a bare `tar`
busybox) tarcmd="busybox tar" ;;
*) log "TAR=$TAR: expected gnu or busybox"; exit 1 ;;
esac
configs=()
for mode in $MODES; do
    configs+=("$LATENCY_MS:$mode")
    [ "$BASELINE" = 1 ] && [ "$LATENCY_MS" != 0 ] && configs+=("0:$mode")
done
for c in "${configs[@]}"; do
    lat=${c%%:*} mode=${c#*:} tag="$mode-${c%%:*}ms"
    log "$tag: server, VM, extraction"
    start "$lat" "$mode" "$tag"
    rc=0
    "$RUN" --quiet --port "$PORT" --mem 1536 --timeout 900 --with /usr/bin/tar \
        --file "$TARBALL:/src.tar" -- "$work/guest.sh" /src.tar \
        "http://10.0.2.2:$METRICS_PORT/metrics" "$tarcmd" "$TAR_ARGS" >"$OUT/guest.$tag.out" 2>"$OUT/nfsvm.$tag.log" || rc=$?
    stop "$tag"
    [ "$rc" = 0 ] || { log "$tag: the guest failed (status $rc); see $OUT/guest.$tag.out, $OUT/nfsvm.$tag.log"; continue; }
    python3 - "$OUT/guest.$tag.out" "$lat" "$mode" "$nfiles" "$ndirs" "$TAR${TAR_ARGS:+ $TAR_ARGS}" >>"$OUT/results.jsonl" <<'PY'
import json, re, sys
out, lat, mode, nfiles, ndirs, tar = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
text = open(out, errors="replace").read()
r = {"mode": mode, "latency_ms": lat, "files": nfiles, "dirs": ndirs, "tar": tar}
t = re.search(r"^times (\S+) (\S+) (\S+)", text, re.M)
t0, t1, t2 = map(float, t.groups())
r["tar_s"], r["sync_s"] = round(t1 - t0, 2), round(t2 - t1, 2)
w = re.search(r"^client-writes (\d+) unstable (\d+) data_sync (\d+) file_sync (\d+) commits (\d+)", text, re.M)
r["client"] = dict(zip(["writes", "unstable", "data_sync", "file_sync", "commits"], map(int, w.groups())))
def section(kind, n):
    m = re.search(rf"^=== {kind} {n}\n(.*?)^===", text, re.M | re.S)
    return m.group(1).splitlines() if m else []
def metrics(n):
    d = {}
    for line in section("metrics", n):
        m = re.match(r"^(\S+?)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            d[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return d
def client(n):
    return {f[0]: (int(f[1]), int(f[2]), int(f[3])) for f in (l.split() for l in section("client", n)) if len(f) == 4}
m0, m2 = metrics(0), metrics(2)
delta = {k: m2[k] - m0.get(k, 0) for k in m2}
r["delta"] = delta
c0, c2 = client(0), client(2)
r["client_ops"] = {op: [c2[op][i] - c0.get(op, (0, 0, 0))[i] for i in range(3)] for op in c2
                   if c2[op][0] != c0.get(op, (0, 0, 0))[0]}
print(json.dumps(r))
PY
done

# ------------------------------------------------------------------------------ the table --
python3 - "$OUT/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
PROCS = ["null", "getattr", "setattr", "lookup", "access", "readlink", "read", "write", "create", "mkdir",
         "symlink", "mknod", "remove", "rmdir", "rename", "link", "readdir", "readdirplus", "fsstat",
         "fsinfo", "pathconf", "commit"]
# Replies that must be durable before they are sent: every change in sync mode, only COMMIT
# (and stable WRITEs, counted from the client's trace) with --async.
DURABLE = {"sync": ["create", "mkdir", "setattr", "symlink", "mknod", "remove", "rmdir", "rename", "link", "commit"],
           "async": ["commit"]}
def runs_of(mode, lat):
    return [r for r in rows if r["mode"] == mode and r["latency_ms"] == lat]
def buckets(d, prefix, label=""):
    """{upper bound in s: count} of a histogram's delta (the series whose labels hold `label`)."""
    out = {}
    for k, v in d.items():
        if k.startswith(prefix + "_bucket{") and 'le="' in k and label in k:
            le = k.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = v
    return out
def above(b, secs):
    """How many observations of cumulative buckets `b` were above the first bound >= secs."""
    bounds = sorted(x for x in b if x >= secs)
    return (b.get(float("inf"), 0) - b[bounds[0]]) if bounds else 0
def at_most(b, secs):
    bounds = sorted(x for x in b if x <= secs)
    return b[bounds[-1]] if bounds else 0
for r in rows:
    d, files, lat, mode = r["delta"], r["files"], r["latency_ms"], r["mode"]
    g = lambda name: d.get(name, 0.0)
    secs = r["tar_s"] + r["sync_s"]
    calls = {p: g(f'slatenfs_nfs_calls_total{{procedure="{p}"}}') for p in PROCS}
    stime = {p: g(f'slatenfs_nfs_call_duration_seconds_sum{{procedure="{p}"}}') for p in PROCS}
    cl = r["client"]
    stable = cl["data_sync"] + cl["file_sync"]
    floor = sum(calls[p] for p in DURABLE[mode]) + stable
    req = lambda k: g(f'slatenfs_object_store_requests_total{{kind="{k}"}}')
    reqt = lambda k: g(f'slatenfs_object_store_request_duration_seconds_sum{{kind="{k}"}}')
    flushes = g("slatenfs_wal_flushes_total")
    fb = buckets(d, "slatenfs_wal_flush_duration_seconds")
    empty = at_most(fb, 0.0016)
    pf = lambda x: f"{x / files:.2f}"
    print(f"\n== {mode}, store latency {lat} ms, {r.get('tar', 'gnu')} tar: {files} files in {r['dirs']} dirs: tar {r['tar_s']:.1f} s + sync {r['sync_s']:.1f} s"
          f" = {secs:.1f} s, {files / secs:.1f} files/s, {1000 * secs / files:.1f} ms per file")
    print("  NFS calls per file [server ms per call]: " + ", ".join(
        f"{p.upper()} {pf(calls[p])} [{1000 * stime[p] / calls[p]:.1f}]" for p in PROCS if calls[p] > 0))
    print(f"  client WRITEs per file {pf(cl['writes'])}: UNSTABLE {pf(cl['unstable'])}, DATA_SYNC {pf(cl['data_sync'])},"
          f" FILE_SYNC {pf(cl['file_sync'])}; COMMITs {pf(cl['commits'])}")
    parts = [p.upper() for p in DURABLE[mode] if calls[p] > 0] + (["stable WRITE"] if stable else [])
    print(f"  floor (replies that must be durable) per file: {pf(floor)} = {' + '.join(parts) or '-'}")
    # At a latency well above 1.6 ms, a flush that took less wrote nothing (no PUT).
    if lat >= 5:
        print(f"  WAL flushes by the flusher per file {pf(flushes)}: {pf(empty)} took <= 1.6 ms (nothing to write),"
              f" {pf(above(fb, 1.25 * lat / 1000))} longer than 1.25 x latency (a slow PUT, or a wait behind another flush)")
    else:
        print(f"  WAL flushes by the flusher per file {pf(flushes)}")
    # WAL PUTs no durable wait asked for: SlateDB's own flush timer (flush_interval), or its size limit.
    unasked = f"~{pf(max(0, req('put_wal') - (flushes - empty)))}" if lat >= 5 else "-"
    print(f"  object store per file: WAL PUTs {pf(req('put_wal'))} (of them without a durable waiter {unasked}),"
          f" other PUTs {req('put') / files:.3f}, GETs {req('get') / files:.3f} ({req('get') / secs:.1f}/s),"
          f" LISTs {req('list') / files:.3f}, DELETEs {req('delete') / files:.3f};"
          f" memtable flushes {g('slatedb_db_immutable_memtable_flushes_total'):.0f}")
    durable_calls = sum(calls[p] for p in DURABLE["sync"] + ["write"])
    if lat:
        slow = sum(above(buckets(d, "slatenfs_nfs_call_duration_seconds", f'procedure="{p}"'), 1.25 * lat / 1000)
                   for p in ["create", "mkdir", "setattr", "write", "commit"])
        busy = sum(stime.values())
        line = (f"  round trips per file: wall {1000 * secs / files / lat:.2f}")
        base = runs_of(mode, 0)
        if base:
            b = sum(x["tar_s"] + x["sync_s"] for x in base) / len(base)
            line += f", wall minus the 0 ms run's {1000 * (secs - b) / files / lat:.2f} (noisy: the VM's share varies)"
        put_ms = 1000 * reqt('put_wal') / max(req('put_wal'), 1)
        line += (f", inside the server's calls {1000 * busy / files / lat:.2f} ({1000 * busy / files / put_ms:.2f} in units of"
                 f" the mean WAL PUT, {put_ms:.1f} ms); floor {pf(floor)};"
                 f" calls that took longer than 1.25 x latency: {slow:.0f}")
        print(line)
        pb = buckets(d, "slatenfs_object_store_request_duration_seconds", 'kind="put_wal"')
        print(f"  store time per file: WAL PUT {1000 * reqt('put_wal') / files:.1f} ms ({put_ms:.1f} ms each,"
              f" {above(pb, 1.25 * lat / 1000):.0f} of them longer than 1.25 x latency),"
              f" GET {1000 * reqt('get') / files:.1f} ms, other PUT {1000 * reqt('put') / files:.1f} ms")
    ops = r["client_ops"]
    rtt = sum(v[1] for v in ops.values())
    print(f"  client: {sum(v[0] for v in ops.values()) / files:.2f} RPCs per file, {rtt / files:.1f} ms per file waiting for replies,"
          f" {1000 * secs / files - rtt / files:.1f} ms per file in the guest between them; RPCs (calls, avg ms): "
          + ", ".join(f"{op} {v[0]} {v[1] / v[0]:.1f}" for op, v in sorted(ops.items(), key=lambda kv: -kv[1][1])))
PY
log "results and logs: $OUT"
