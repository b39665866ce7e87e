#!/usr/bin/env bash
# Write amplification on (simulated) S3: object-store bytes PUT per client byte for seqwrite and
# randwrite, split into WAL, L0 flush (memtable -> L0 tables), compaction and metadata; object-
# store requests per GiB of client data by kind, in all and for the compactor alone; the S3
# request bill per GiB written; and the storage left afterwards (space amplification).
#
# For each workload: fresh storage and cache, `slatenfs serve` with every object-store request
# delayed as S3 would (`--simulate-object-store`) and a metrics endpoint. randwrite first fills
# its large file (`--seconds 0`: setup only, reported as its own row "randwrite-fill") and
# restarts the server (the stop flushes the memtable, so no fill data is left for the random
# writes to flush). Then rounds of the workload (ROUND_SECONDS each, a new seed per round)
# until the client wrote WRITE_GB GiB, a wait until compaction settles (the storage directory
# has not changed for QUIET_SECONDS and no compaction runs), and a stop (which flushes the
# memtable to L0). Each server lifetime is measured from just after it opened to its exit.
#
# Sources, and what each split rests on:
#   client bytes: the bench's `client_bytes_written` (WRITE bytes the server acknowledged).
#   bytes PUT:    the storage directory, listed at start, client end, quiet and stop. The
#                 garbage collector deletes nothing this soon (SlateDB's GC runs every 10 min
#                 and spares objects younger than 5 min; checked: files deleted are reported),
#                 so every object written is still there: wal/ is the WAL, manifest/ and
#                 compactions/ are metadata, compacted/ holds the tables. A table is an L0
#                 flush if some manifest (all are kept) lists it in L0, a compaction output if
#                 manifests only list it in a sorted run. Cross-checked with the server's
#                 counted PUT bytes and SlateDB's l0_flush_bytes.
#   requests:     the server's per-kind counters (slatenfs_object_store_requests_total, the
#                 requests that reached the store) from open to quiet, plus the PUTs and GETs
#                 of the stop from the "object store totals" line; the compactor's and the GC's
#                 own from SlateDB's slatedb_object_store_request_count_total{component=...}
#                 (less its failed PUTs and multipart creates: the local disk refuses the
#                 attributes SlateDB first sends with them, once each, which S3 would not).
#   S3 bill:      PUT, LIST, multipart create/complete at $0.005 per 1,000; GET and HEAD at
#                 $0.0004 per 1,000; DELETE free. Tables over 10 MiB go up as multipart uploads
#                 (SlateDB's 10 MiB upload buffer): each part is a PUT, plus a create and a
#                 complete each.
#
# Settings (environment): LATENCY_MS=20 (per request, every kind) BANDWIDTH=100 (MB/s per
#   request) WORKLOADS="seqwrite randwrite" WRITE_GB=1 (client GiB per workload, at least)
#   ROUND_SECONDS=10 (length of one bench round; not SECONDS, which bash reserves) MAX_ROUNDS=12
#   FILE_MB=1024 (randwrite's file) SEQWRITE_FILE_MB=64 CONNS=4 DEPTH=16 QUIET_SECONDS=20
#   QUIET_MAX=600 CACHE_SIZE_GB=4 SLATENFS_ARGS= PORT=14071 (metrics on PORT+1)
#   BIN, BENCH (default target/release/slatenfs{,-bench}; not built here)
#   OUT=target/write-amplification (results.json, summary.txt, per-segment listings, metrics,
#   manifests, bench output and server logs) ANALYSE_ONLY=1 (only analyse what OUT holds).
#   Not part of `make test`: it takes about 4-6 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LATENCY_MS=${LATENCY_MS:-20}
BANDWIDTH=${BANDWIDTH:-100}
WORKLOADS=${WORKLOADS:-seqwrite randwrite}
WRITE_GB=${WRITE_GB:-1}
ROUND_SECONDS=${ROUND_SECONDS:-10}
MAX_ROUNDS=${MAX_ROUNDS:-12}
FILE_MB=${FILE_MB:-1024}
SEQWRITE_FILE_MB=${SEQWRITE_FILE_MB:-64}
CONNS=${CONNS:-4}
DEPTH=${DEPTH:-16}
QUIET_SECONDS=${QUIET_SECONDS:-20}
QUIET_MAX=${QUIET_MAX:-600}
CACHE_SIZE_GB=${CACHE_SIZE_GB:-4}
SLATENFS_ARGS=${SLATENFS_ARGS:-}
PORT=${PORT:-14071}
MPORT=$((PORT + 1))
OUT=${OUT:-$ROOT/target/write-amplification}
BIN=${BIN:-$ROOT/target/release/slatenfs}
BENCH=${BENCH:-$ROOT/target/release/slatenfs-bench}

log() { echo "write-amplification: $*" >&2; }
if [ -z "${ANALYSE_ONLY:-}" ]; then
    for b in "$BIN" "$BENCH"; do
        [ -x "$b" ] || { log "$b missing: build (cargo build --release --bins) or set BIN and BENCH"; exit 2; }
    done
    command -v curl >/dev/null || { log "needs curl"; exit 2; }
fi

work=$(mktemp -d /var/tmp/slatenfs-wamp.XXXXXX)
mkdir -p "$OUT"
spid=
cleanup() {
    set +e
    if [ -n "$spid" ]; then
        kill "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

timing="get=${LATENCY_MS}ms,put=${LATENCY_MS}ms,list=${LATENCY_MS}ms,delete=${LATENCY_MS}ms${BANDWIDTH:+,bandwidth=$BANDWIDTH}"

# start SEG: a server on $work/data (cache $work/cache); its log is $OUT/SEG/server.log.
start() {
    # shellcheck disable=SC2086 # SLATENFS_ARGS is a list of flags
    SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=$CACHE_SIZE_GB RUST_LOG=warn,slatenfs=info \
        "$BIN" serve --listen "127.0.0.1:$PORT" --rpcbind off --storage "file://$work/data" \
        --simulate-object-store "$timing" --metrics-listen "127.0.0.1:$MPORT" \
        $SLATENFS_ARGS >"$OUT/$1/server.log" 2>&1 &
    spid=$!
    for _ in $(seq 1 600); do
        kill -0 "$spid" 2>/dev/null || { log "server exited; see $OUT/$1/server.log"; exit 1; }
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null &&
            curl -sf "http://127.0.0.1:$MPORT/metrics" >/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    log "server did not listen"
    exit 1
}

# stop SEG: SIGTERM and wait (the server flushes its memtable to L0 before it exits).
stop() {
    local rc=0
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" || rc=$?
    spid=
    [ "$rc" = 0 ] || log "server of $1 exited with status $rc"
    grep -q 'object store totals' "$OUT/$1/server.log" || log "no object store totals in $1's log"
}

listing() { find "$work/data" -type f -printf '%P\t%s\n' | sort; }
metrics() { curl -sf "http://127.0.0.1:$MPORT/metrics" || true; }

# snap SEG POINT: the metrics (unless the server is gone) and the storage listing at POINT.
snap() {
    [ -z "$spid" ] || metrics >"$OUT/$1/metrics.$2.txt"
    listing >"$OUT/$1/files.$2.tsv"
    date +%s.%N >"$OUT/$1/time.$2"
}

# wait_quiet SEG: until the storage has not changed for QUIET_SECONDS and no compaction runs
# (at most QUIET_MAX seconds).
wait_quiet() {
    local began last before after running now
    began=$(date +%s)
    last=$began
    before=$(listing | md5sum)
    snap "$1" idle
    while :; do
        sleep 5
        now=$(date +%s)
        after=$(listing | md5sum)
        metrics >"$work/metrics.now"
        running=$(awk '/^slatedb_compactor_running_compactions/ { s += $2 } END { print s + 0 }' "$work/metrics.now")
        if [ "$after" != "$before" ] || [ "$running" != 0 ]; then
            last=$now
            before=$after
            # The last change so far: from here to the end of the wait, requests are the ones
            # an idle server makes (manifest polls and the like).
            cp "$work/metrics.now" "$OUT/$1/metrics.idle.txt"
            date +%s.%N >"$OUT/$1/time.idle"
        fi
        if [ $((now - last)) -ge "$QUIET_SECONDS" ]; then
            echo $((now - began)) >"$OUT/$1/quiet_seconds"
            return 0
        fi
        if [ $((now - began)) -ge "$QUIET_MAX" ]; then
            log "$1: storage still changing after $QUIET_MAX s"
            echo "-$((now - began))" >"$OUT/$1/quiet_seconds"
            return 0
        fi
    done
}

# bench SEG WORKLOAD SECONDS SEED [flags]: one bench run; its JSON line goes to SEG/bench.jsonl.
bench() {
    local seg=$1 w=$2 secs=$3 seed=$4 line
    shift 4
    line=$("$BENCH" --server 127.0.0.1 --port "$PORT" --mountport "$PORT" --conns "$CONNS" \
        --depth "$DEPTH" --seconds "$secs" --seed "$seed" --workload "$w" --dir "wamp-$w" \
        --file-mb "$FILE_MB" --seqwrite-file-mb "$SEQWRITE_FILE_MB" "$@" \
        2>>"$OUT/$seg/bench.err" | grep '^{' || true)
    [ -n "$line" ] || line='{"workload":"'"$w"'","errors":-1,"client_bytes_written":0}'
    echo "$line" >>"$OUT/$seg/bench.jsonl"
    sed -n 's/.*"client_bytes_written":\([0-9]*\).*/\1/p' <<<"$line"
}

# segment SEG KIND WORKLOAD: one server lifetime; KIND fill (randwrite's setup) or run.
segment() {
    local seg=$1 kind=$2 w=$3 total=0 round=0 target n
    rm -rf "${OUT:?}/$seg"
    mkdir -p "$OUT/$seg"
    echo "$w $kind" >"$OUT/$seg/what"
    start "$seg"
    snap "$seg" start
    if [ "$kind" = fill ]; then
        log "$seg: writing the ${FILE_MB} MiB file"
        total=$(bench "$seg" "$w" 0 0)
    else
        target=$(awk -v g="$WRITE_GB" 'BEGIN { printf "%d", g * 1073741824 }')
        extra=()
        [ "$w" = seqwrite ] && extra=(--keep)
        while [ "$total" -lt "$target" ] && [ "$round" -lt "$MAX_ROUNDS" ]; do
            round=$((round + 1))
            n=$(bench "$seg" "$w" "$ROUND_SECONDS" "$round" "${extra[@]}")
            total=$((total + ${n:-0}))
            log "$seg: round $round: $((total / 1048576)) MiB written"
        done
        [ "$total" -ge "$target" ] || log "$seg: only $total bytes after $MAX_ROUNDS rounds"
    fi
    snap "$seg" client
    log "$seg: waiting for compaction to settle"
    wait_quiet "$seg"
    snap "$seg" quiet
    stop "$seg"
    snap "$seg" stop
    # Every manifest written (none is old enough for the GC): which tables were L0 flushes.
    mkdir -p "$OUT/$seg/manifest"
    find "$work/data" -path '*/manifest/*.manifest' -exec cp {} "$OUT/$seg/manifest/" \;
}

for w in $WORKLOADS; do
    [ -z "${ANALYSE_ONLY:-}" ] || break
    rm -rf "$work/data" "$work/cache"
    case $w in
    randwrite)
        segment randwrite-fill fill randwrite
        segment randwrite run randwrite
        ;;
    *) segment "$w" run "$w" ;;
    esac
done

python3 - "$OUT" "$LATENCY_MS" "$BANDWIDTH" "$FILE_MB" "$WORKLOADS" <<'PY'
import json, os, re, struct, sys

out, latency, bandwidth, file_mb, workloads = sys.argv[1:6]
GIB = 1 << 30
MULTIPART_ABOVE = 10 << 20  # SlateDB's upload buffer: larger objects go up in parts
TIER1, TIER2 = 0.005 / 1000, 0.0004 / 1000

# --- SlateDB manifests (format 2, flatbuffers): the tables each one lists, and its L0 ones ---
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(high, low):
    v = (high << 64) | low
    return "".join(CROCKFORD[(v >> (5 * (25 - i))) & 31] for i in range(26))


class Flat:
    def __init__(self, b):
        self.b = b

    def u(self, fmt, p):
        return struct.unpack_from(fmt, self.b, p)[0]

    def slot(self, t, vo):
        vt = t - self.u("<i", t)
        if vo >= self.u("<H", vt):
            return None
        o = self.u("<H", vt + vo)
        return t + o if o else None

    def ref(self, t, vo):
        p = self.slot(t, vo)
        return None if p is None else p + self.u("<I", p)

    def tables(self, t, vo):
        v = self.ref(t, vo)
        if v is None:
            return []
        return [v + 4 + 4 * i + self.u("<I", v + 4 + 4 * i) for i in range(self.u("<I", v))]

    def u64(self, t, vo):
        p = self.slot(t, vo)
        return 0 if p is None else self.u("<Q", p)

    def ulid(self, t):
        return ulid(self.u64(t, 4), self.u64(t, 6))


def read_manifest(path):
    """(all tables, L0 tables) a manifest lists: ManifestV2.ssts (slot 20: CompactedSsTableV2,
    id in slot 4) and ManifestV2.l0 (slot 22: CompactedSsTableView, sst_id in slot 6)."""
    b = open(path, "rb").read()
    if struct.unpack(">H", b[:2])[0] != 2:
        raise ValueError("not a version 2 manifest")
    f = Flat(b[2:])
    root = f.u("<I", 0)
    ssts = {f.ulid(f.ref(t, 4)) for t in f.tables(root, 20)}
    l0 = {f.ulid(f.ref(t, 6)) for t in f.tables(root, 22)}
    return ssts, l0


# --- inputs ---
def listing(seg, point):
    files = {}
    for line in open(f"{out}/{seg}/files.{point}.tsv"):
        path, size = line.rstrip("\n").split("\t")
        files[path] = int(size)
    return files


def prom(seg, point):
    m = {}
    path = f"{out}/{seg}/metrics.{point}.txt"
    if not os.path.exists(path):
        return m
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        mt = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)", line)
        if not mt:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', mt.group(3) or "")))
        m[(mt.group(1), labels)] = float(mt.group(4))
    return m


def msum(m, name, **want):
    return sum(v for (n, labels), v in m.items()
               if n == name and all(dict(labels).get(k) == w for k, w in want.items()))


def mdelta(a, b, name, **want):
    return msum(b, name, **want) - msum(a, name, **want)


def kind_of(path):
    parts = path.split("/")
    d = parts[-2] if len(parts) >= 2 else ""
    if "#" in parts[-1]:
        return "staging"
    return {"wal": "wal", "compacted": "tables", "manifest": "manifest",
            "compactions": "compactions"}.get(d, "other")


def totals(seg):
    text = open(f"{out}/{seg}/server.log", errors="replace").read()
    found = re.findall(r"object store totals: puts=(\d+) put_bytes=(\d+) wal_put_bytes=(\d+) "
                       r"gets=(\d+) get_bytes=(\d+) other=(\d+)", text)
    if not found:
        return None
    k = ("puts", "put_bytes", "wal_put_bytes", "gets", "get_bytes", "other")
    return dict(zip(k, map(int, found[-1])))


def tables_of(seg):
    """From the manifests copied at SEG's stop: the tables ever listed in L0, the tables ever
    listed, the tables the last manifest lists, the manifests, how many were unreadable."""
    if seg in TABLES:
        return TABLES[seg]
    ever_l0, ever_listed, latest = set(), set(), set()
    mdir = f"{out}/{seg}/manifest"
    manifests = sorted(os.listdir(mdir)) if os.path.isdir(mdir) else []
    unreadable = 0
    for name in manifests:
        try:
            ssts, l0 = read_manifest(f"{mdir}/{name}")
        except (OSError, ValueError, struct.error):
            unreadable += 1
            continue
        ever_l0 |= l0
        ever_listed |= ssts
        latest = ssts
    TABLES[seg] = (ever_l0, ever_listed, latest, manifests, unreadable)
    return TABLES[seg]


TABLES = {}


def analyse(seg, prev):
    what, kind = open(f"{out}/{seg}/what").read().split()
    bench = [json.loads(l) for l in open(f"{out}/{seg}/bench.jsonl") if l.strip()]
    client = sum(b.get("client_bytes_written", 0) for b in bench)
    errors = sum(max(b.get("errors", 0), 0) for b in bench) + sum(b.get("errors", 0) < 0 for b in bench)
    points = ["start", "client", "quiet", "stop"]
    ls = {p: listing(seg, p) for p in points}
    ms = {p: prom(seg, p) for p in ["start", "client", "quiet"]}
    t = {p: float(open(f"{out}/{seg}/time.{p}").read()) for p in points}

    # Classify every table by the manifests on disk at the stop (the GC deleted none so soon).
    ever_l0, ever_listed, latest_ssts, manifests, unreadable = tables_of(seg)
    sizes = {p.rsplit("/", 1)[-1].split(".")[0]: s for p, s in ls["stop"].items()
             if kind_of(p) == "tables"}
    # What compaction consumed in this segment: tables some manifest listed that the last one
    # does not (less what an earlier segment on the same storage had consumed already).
    before = tables_of(prev) if prev else (set(), set(), set(), [], 0)
    gone_before = before[1] - before[2]
    gone = (ever_listed - latest_ssts) - gone_before
    consumed_l0 = sum(sizes.get(x, 0) for x in gone & ever_l0)
    consumed_runs = sum(sizes.get(x, 0) for x in gone - ever_l0)
    pending_l0 = sum(sizes.get(x, 0) for x in latest_ssts & ever_l0)

    def table_class(path):
        name = path.rsplit("/", 1)[-1].split(".")[0]
        if name in ever_l0:
            return "l0"
        if name in ever_listed:
            return "compaction"
        return "unlisted"

    def new_bytes(a, b):
        """Bytes of objects at b that were not at a (or changed size), by class."""
        acc = {}
        for p, s in ls[b].items():
            if ls[a].get(p) == s:
                continue
            k = kind_of(p)
            if k == "tables":
                k = table_class(p)
            c = acc.setdefault(k, [0, 0])
            c[0] += s
            c[1] += 1
        return acc

    phases = {"client": new_bytes("start", "client"), "settle": new_bytes("client", "quiet"),
              "stop": new_bytes("quiet", "stop"), "all": new_bytes("start", "stop")}
    deleted = [p for p in ls["start"] if p not in ls["stop"]]
    allb = phases["all"]

    def b(k, ph="all"):
        return phases[ph].get(k, [0, 0])[0]

    def n(k, ph="all"):
        return phases[ph].get(k, [0, 0])[1]

    put_bytes_listed = sum(v[0] for k, v in allb.items() if k != "staging")
    tot = totals(seg)
    m0, mq = ms["start"], ms["quiet"]

    # Requests, open -> quiet from the counters, plus the stop from the totals line.
    R = "slatenfs_object_store_requests_total"
    req = {k: mdelta(m0, mq, R, kind=k) for k in ("get", "put_wal", "put", "list", "delete", "other")}
    S = "slatedb_object_store_request_count_total"
    E = "slatedb_object_store_error_count_total"

    def sdb(component=None, api=None):
        """SlateDB's count of `api` calls; failed PUTs and multipart creates left out (the
        local disk refuses the attributes SlateDB first sends with them, once each, which S3
        would not). A failed GET (of an object that is not there yet: a poll for the next
        manifest) is a request S3 answers and bills, so it counts."""
        want = {}
        if component:
            want["component"] = component
        if api:
            want["api"] = api
        n = mdelta(m0, mq, S, **want)
        if api in ("put", "multipart_init"):
            n -= mdelta(m0, mq, E, **want)
        return max(n, 0)

    head = sdb(api="head")
    mp_init = sdb(api="multipart_init")
    mp_complete = sdb(api="multipart_complete")
    stop_puts = stop_gets = 0
    if tot:
        q_puts = msum(mq, R, kind="put") + msum(mq, R, kind="put_wal")
        stop_puts = max(tot["puts"] - q_puts, 0)
        stop_gets = max(tot["gets"] - msum(mq, R, kind="get"), 0)
    stop_big = sum(1 for p, s in ls["stop"].items()
                   if ls["quiet"].get(p) != s and s > MULTIPART_ABOVE and kind_of(p) == "tables")
    kinds = {
        "PUT": req["put"] + req["put_wal"] + stop_puts,
        "PUT_WAL": req["put_wal"],
        "MULTIPART_CREATE_COMPLETE": mp_init + mp_complete + 2 * stop_big,
        "GET": req["get"] + stop_gets,
        "HEAD": head,
        "LIST": req["list"],
        "DELETE": req["delete"],
    }
    APIS = ("get", "get_range", "get_ranges", "head", "list", "list_with_offset",
            "list_with_delimiter", "put", "multipart_init", "multipart_part",
            "multipart_complete", "delete")

    def component(name):
        api = {a: sdb(name, a) for a in APIS}
        return api, {
            "PUT": api["put"] + api["multipart_part"],
            "MULTIPART_CREATE_COMPLETE": api["multipart_init"] + api["multipart_complete"],
            "GET": api["get"] + api["get_range"] + api["get_ranges"],
            "HEAD": api["head"],
            "LIST": api["list"] + api["list_with_offset"] + api["list_with_delimiter"],
            "DELETE": api["delete"],
        }

    by_component = {c: component(c) for c in ("db", "compactor", "gc")}
    comp, comp_kinds = by_component["compactor"]

    # What an idle server asks for: from the last change of the storage to the end of the wait.
    idle = None
    if os.path.exists(f"{out}/{seg}/metrics.idle.txt"):
        mi = prom(seg, "idle")
        dt = t["quiet"] - float(open(f"{out}/{seg}/time.idle").read())
        if dt >= 5:
            idle = {"seconds": dt}
            for k, name in (("GET", "get"), ("LIST", "list"), ("PUT", "put"), ("PUT_WAL", "put_wal"),
                            ("DELETE", "delete"), ("OTHER", "other")):
                idle[k] = (msum(mq, R, kind=name) - msum(mi, R, kind=name)) / dt

    def bill(k):
        t1 = k.get("PUT", 0) + k.get("MULTIPART_CREATE_COMPLETE", 0) + k.get("LIST", 0)
        t2 = k.get("GET", 0) + k.get("HEAD", 0)
        return t1 * TIER1 + t2 * TIER2, t1, t2

    gib = client / GIB if client else float("nan")
    storage = sum(ls["stop"].values())
    live_tables = sum(s for p, s in ls["stop"].items()
                      if kind_of(p) == "tables" and p.rsplit("/", 1)[-1].split(".")[0] in latest_ssts)
    by_dir = {}
    for p, s in ls["stop"].items():
        by_dir[kind_of(p)] = by_dir.get(kind_of(p), 0) + s
    logical = client if what == "seqwrite" else int(file_mb) << 20
    r = {
        "segment": seg, "workload": what, "kind": kind,
        "client_bytes": client, "bench_errors": errors, "bench_rounds": len(bench),
        "seconds": {"client": t["client"] - t["start"], "settle": t["quiet"] - t["client"],
                    "stop": t["stop"] - t["quiet"]},
        "put_bytes": {"wal": b("wal"), "l0": b("l0"), "compaction": b("compaction"),
                      "manifest": b("manifest"), "compactions_state": b("compactions"),
                      "unlisted_tables": b("unlisted"), "other": b("other"),
                      "total_listed": put_bytes_listed},
        "objects": {"wal": n("wal"), "l0": n("l0"), "compaction": n("compaction"),
                    "manifest": n("manifest"), "compactions_state": n("compactions")},
        "compaction_consumed": {"l0": consumed_l0, "sorted_runs": consumed_runs,
                                "l0_left": pending_l0},
        "compaction_bytes_by_phase": {ph: b("compaction", ph) for ph in ("client", "settle", "stop")},
        "l0_bytes_by_phase": {ph: b("l0", ph) for ph in ("client", "settle", "stop")},
        "server_totals": tot,
        "slatedb": {
            "l0_flush_bytes": mdelta(m0, mq, "slatedb_db_l0_flush_bytes_total"),
            "immutable_memtable_flushes": mdelta(m0, mq, "slatedb_db_immutable_memtable_flushes_total"),
            "wal_flush_bytes": mdelta(m0, mq, "slatedb_wal_wal_flush_bytes_total"),
            "memtable_write_bytes": mdelta(m0, mq, "slatedb_db_memtable_write_bytes_total"),
            "compactor_bytes_compacted": mdelta(m0, mq, "slatedb_compactor_bytes_compacted_total"),
            "compactor_ssts_written": mdelta(m0, mq, "slatedb_compactor_ssts_written_total"),
            "compactor_jobs_claimed": mdelta(m0, mq, "slatedb_compactor_jobs_claimed_total"),
            "gc_runs": mdelta(m0, mq, "slatedb_gc_count_total"),
            "gc_deleted": mdelta(m0, mq, "slatedb_gc_deleted_count_total"),
            "l0_sst_count_at_quiet": msum(mq, "slatedb_db_l0_sst_count"),
            "sorted_run_count_at_quiet": msum(mq, "slatedb_db_sorted_run_count"),
        },
        "requests": kinds, "requests_stop_phase": {"PUT": stop_puts, "GET": stop_gets},
        "server_request_kinds_to_quiet": req,
        "compactor_requests": comp_kinds,
        "slatedb_requests_by_component": {c: v[1] for c, v in by_component.items()},
        "slatedb_requests_by_component_api": {c: v[0] for c, v in by_component.items()},
        "idle_requests_per_second": idle,
        "bill_usd": bill(kinds)[0], "compactor_bill_usd": bill(comp_kinds)[0],
        "storage": {"bytes_at_stop": storage, "by_dir": by_dir, "live_tables": live_tables,
                    "logical_bytes": logical, "objects_deleted": len(deleted)},
        "manifests_read": len(manifests) - unreadable, "manifests_unreadable": unreadable,
    }
    r["per_gib"] = {k: v / gib for k, v in kinds.items()}
    r["compactor_per_gib"] = {k: v / gib for k, v in comp_kinds.items()}
    r["component_per_gib"] = {c: {k: x / gib for k, x in v[1].items()} for c, v in by_component.items()}
    r["component_bill_usd_per_gib"] = {c: bill(v[1])[0] / gib for c, v in by_component.items()}
    if idle:
        span = t["quiet"] - t["start"]
        r["idle_share_per_gib"] = {k: idle[k] * span / gib for k in ("GET", "LIST", "PUT")}
    r["bill_usd_per_gib"] = r["bill_usd"] / gib
    r["compactor_bill_usd_per_gib"] = r["compactor_bill_usd"] / gib
    return r


segs = []
for w in workloads.split():
    segs += ["randwrite-fill", "randwrite"] if w == "randwrite" else [w]
rows = [analyse(s, segs[i - 1] if s == "randwrite" and i > 0 and segs[i - 1] == "randwrite-fill"
                 else None) for i, s in enumerate(segs)]
json.dump(rows, open(f"{out}/results.json", "w"), indent=1)

lines = []
p = lines.append
p(f"object store: {latency} ms per request, {bandwidth or 'unlimited'} MB/s per request")
p("")
p("Bytes PUT per client byte (x), split by what was written")
p(f"{'segment':<15} {'client MiB':>10} {'WAL':>6} {'L0':>6} {'compact':>8} {'meta':>7} "
  f"{'total':>6} {'counted':>8} {'L0 tables':>9} {'compactions':>11} {'SSTs out':>8}")
for r in rows:
    c = r["client_bytes"] or float("nan")
    pb = r["put_bytes"]
    meta = pb["manifest"] + pb["compactions_state"] + pb["other"] + pb["unlisted_tables"]
    counted = r["server_totals"]["put_bytes"] / c if r["server_totals"] else float("nan")
    s = r["slatedb"]
    p(f"{r['segment']:<15} {r['client_bytes'] / 2**20:>10.0f} {pb['wal'] / c:>6.3f} {pb['l0'] / c:>6.3f} "
      f"{pb['compaction'] / c:>8.3f} {meta / c:>7.4f} {pb['total_listed'] / c:>6.3f} {counted:>8.3f} "
      f"{r['objects']['l0']:>9} {s['compactor_jobs_claimed']:>11.0f} {s['compactor_ssts_written']:>8.0f}")
p("WAL: wal/ objects; L0: tables some manifest lists in L0; compact: tables only sorted runs list;")
p("meta: manifests, compactor state, anything else; total: all objects written (from the listing);")
p("counted: the server's own PUT byte count, a cross-check of total.")
p("")
p("Requests per GiB of client data, open to stop. all: the server's counts (what reached the store);")
p("db / compactor / gc: SlateDB's own, by component, open to quiet (the stop's flush is db's).")
p("MP c+c: multipart create + complete; $/GiB: the S3 request bill per GiB written.")
p(f"{'segment':<15} {'':<9} {'PUT':>8} {'MP c+c':>7} {'GET':>8} {'HEAD':>6} {'LIST':>6} {'DELETE':>6} "
  f"{'$/GiB':>9}")
for r in rows:
    rows_ = [("all", r["per_gib"], r["bill_usd_per_gib"])]
    rows_ += [(c, r["component_per_gib"][c], r["component_bill_usd_per_gib"][c])
              for c in ("db", "compactor", "gc")]
    for label, k, usd in rows_:
        p(f"{r['segment']:<15} {label:<9} {k['PUT']:>8.0f} {k['MULTIPART_CREATE_COMPLETE']:>7.0f} "
          f"{k['GET']:>8.0f} {k['HEAD']:>6.0f} {k['LIST']:>6.0f} {k['DELETE']:>6.0f} {usd:>9.5f}")
p("")
p("WAL objects, and what an idle server asks for (the time-driven part of the requests above)")
for r in rows:
    wal_kib = r["put_bytes"]["wal"] / max(r["objects"]["wal"], 1) / 1024
    i = r.get("idle_requests_per_second")
    idle = (f"idle {i['GET']:.2f} GET/s {i['LIST']:.2f} LIST/s {i['PUT'] + i['PUT_WAL']:.2f} PUT/s "
            f"(over {i['seconds']:.0f} s): in this segment ~{r['idle_share_per_gib']['GET']:.0f} GET, "
            f"{r['idle_share_per_gib']['LIST']:.0f} LIST, {r['idle_share_per_gib']['PUT']:.0f} PUT per GiB"
            if i else "idle rate not measured (quiet window too short)")
    p(f"{r['segment']:<15} WAL {r['objects']['wal']} objects, {r['requests']['PUT_WAL'] * 2**30 / max(r['client_bytes'], 1):.0f} "
      f"WAL PUT/GiB, mean {wal_kib:.0f} KiB; {idle}")
p("")
p("Storage at the stop (GC has not run yet: it runs every 10 min, on objects older than 5 min)")
p(f"{'segment':<15} {'logical MiB':>11} {'stored MiB':>10} {'x':>6} {'live tables MiB':>15} {'x':>6} "
  f"{'WAL MiB':>8} {'deleted objs':>12}")
for r in rows:
    st = r["storage"]
    p(f"{r['segment']:<15} {st['logical_bytes'] / 2**20:>11.0f} {st['bytes_at_stop'] / 2**20:>10.0f} "
      f"{st['bytes_at_stop'] / st['logical_bytes']:>6.2f} {st['live_tables'] / 2**20:>15.0f} "
      f"{st['live_tables'] / st['logical_bytes']:>6.2f} {st['by_dir'].get('wal', 0) / 2**20:>8.0f} "
      f"{st['objects_deleted']:>12}")
p("")
for r in rows:
    s, pb, c = r["slatedb"], r["put_bytes"], r["client_bytes"] or 1
    notes = []
    if r["objects"]["l0"] == 0:
        notes.append("no L0 flush")
    if s["compactor_ssts_written"] == 0:
        notes.append("NO COMPACTION happened")
    if not r["manifests_read"] or r["manifests_unreadable"]:
        notes.append(f"{r['manifests_unreadable']} manifests unreadable: L0/compaction split incomplete")
    if r["bench_errors"]:
        notes.append(f"{r['bench_errors']} bench errors")
    if s["gc_deleted"] or r["storage"]["objects_deleted"]:
        notes.append(f"GC deleted {s['gc_deleted']:.0f} objects ({r['storage']['objects_deleted']} gone from the listing): listed bytes undercount")
    ph = r["compaction_bytes_by_phase"]
    p(f"{r['segment']}: {r['bench_rounds']} bench round(s), client {r['seconds']['client']:.0f} s, "
      f"settle {r['seconds']['settle']:.0f} s, stop {r['seconds']['stop']:.0f} s; compaction bytes "
      f"while the client ran {ph['client'] / c:.3f}x, after {(ph['settle'] + ph['stop']) / c:.3f}x; "
      f"L0 at stop {r['l0_bytes_by_phase']['stop'] / c:.3f}x; SlateDB l0_flush_bytes (to quiet) "
      f"{s['l0_flush_bytes'] / c:.3f}x, bytes_compacted (data blocks only) "
      f"{s['compactor_bytes_compacted'] / c:.3f}x, memtable bytes {s['memtable_write_bytes'] / c:.3f}x; "
      f"L0 tables left {s['l0_sst_count_at_quiet']:.0f}, sorted runs {s['sorted_run_count_at_quiet']:.0f}")
    cc = r["compaction_consumed"]
    into = cc["l0"] + cc["sorted_runs"]
    p(f"  compaction consumed {cc['l0'] / 2**20:.0f} MiB of L0 and {cc['sorted_runs'] / 2**20:.0f} MiB "
      f"of sorted runs and wrote {pb['compaction'] / 2**20:.0f} MiB"
      + (f" ({pb['compaction'] / into:.3f} per byte consumed)" if into else "")
      + f"; {cc['l0_left'] / 2**20:.0f} MiB of L0 left for a later compaction")
    if pb["compaction"]:
        k, out_gib = r["compactor_requests"], pb["compaction"] / 2**30
        t1 = k["PUT"] + k["MULTIPART_CREATE_COMPLETE"] + k["LIST"]
        p(f"  the compactor per GiB it wrote: {t1 / out_gib:.0f} PUT/LIST-priced requests, "
          f"{(k['GET'] + k['HEAD']) / out_gib:.0f} GETs, ${r['compactor_bill_usd'] / out_gib:.5f}")
    if notes:
        p("  NOTE: " + "; ".join(notes))
text = "\n".join(lines)
print(text)
open(f"{out}/summary.txt", "w").write(text + "\n")
PY
log "results: $OUT/summary.txt, $OUT/results.json"
