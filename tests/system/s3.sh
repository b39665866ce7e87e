#!/usr/bin/env bash
# The S3 path for real: moto's S3 server on loopback, configured only through AWS_* variables.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
MOTO_PID=
cleanup() { stop_server; [ -n "$MOTO_PID" ] && kill "$MOTO_PID" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# libnfs takes the export from the URL path up to its last "/": "//" is the export "/".
url() { echo "nfs://127.0.0.1//$1?version=3&nfsport=$PORT&mountport=$PORT"; }

check "moto S3 server with a bucket" start_moto "$work" slatenfs-test
[ -n "${AWS_ENDPOINT_URL:-}" ] || { summary; exit 1; }
mport=${AWS_ENDPOINT_URL##*:}
head -c 3000000 /dev/urandom >"$work/f1"; echo hello >"$work/f2"
start_server "$work" || { fail "server starts on S3"; summary; exit 1; }
pass "server starts on S3 (moto)"
check "nfs-cp f1 in" nfs-cp "$work/f1" "$(url f1)"
check "nfs-cp f2 in" nfs-cp "$work/f2" "$(url f2)"
check "SIGTERM exits 0" stop_server
objects=$(curl -s "http://127.0.0.1:$mport/slatenfs-test?list-type=2" | grep -o '<Key>' | wc -l)
[ "$objects" -gt 0 ] && pass "objects written to the bucket ($objects)" || fail "objects written to the bucket"
start_server "$work" || { fail "server restarts on S3"; summary; exit 1; }
check "f1 identical after restart" cmp <(nfs-cat "$(url f1)") "$work/f1"
check "f2 identical after restart" cmp <(nfs-cat "$(url f2)") "$work/f2"

# Snapshots and clones on S3: the checkpoint, the browsing, a clone in another prefix.
snap() { SLATEDB_CACHE_DIR=$work/cache "$BIN" "$@"; }
check "snapshot create on S3 (through the server)" snap snapshot create before
echo changed >"$work/f2b"
check "a file made after the snapshot" nfs-cp "$work/f2b" "$(url f4)"
check "the snapshot shows f2" cmp <(nfs-cat "$(url .snapshot/before/f2)") "$work/f2"
check "the live filesystem has the new file" cmp <(nfs-cat "$(url f4)") "$work/f2b"
if nfs-cat "$(url .snapshot/before/f4)" >/dev/null 2>&1; then fail "the snapshot has the new file"
else pass "the snapshot does not have the new file"; fi
check "SIGTERM exits 0 again" stop_server
check "snapshot list on S3 with no server" bash -c "SLATEDB_CACHE_DIR=$work/cache '$BIN' snapshot list | grep -q '^before '"
check "clone into another prefix of the bucket" snap clone --from-snapshot before --storage s3://slatenfs-test/clone1
check "the parent's snapshot can go" snap snapshot delete before
mkdir -p "$work/clone"
start_server "$work/clone" --storage s3://slatenfs-test/clone1 || { fail "server starts on the clone"; summary; exit 1; }
check "the clone has the snapshot's f1" cmp <(nfs-cat "$(url f1)") "$work/f1"
check "the clone has the snapshot's f2" cmp <(nfs-cat "$(url f2)") "$work/f2"
check "the clone takes writes" nfs-cp "$work/f2b" "$(url f3)"
check "SIGTERM exits 0 on the clone" stop_server

# A bucket that does not exist: one clear line, non-zero exit.
out=$(AWS_S3_BUCKET=no-such-bucket SLATEDB_CACHE_DIR=$work/c2 SLATEDB_CACHE_SIZE_GB=1 timeout 60 "$BIN" serve --listen 127.0.0.1:$(free_port) 2>&1)
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && echo "$out" | grep 'slatenfs:' | grep -q "AWS_S3_BUCKET"; then
    pass "missing bucket: $(echo "$out" | grep 'slatenfs:')"
else
    fail "missing bucket gives a clear error (exit $rc): $out"
fi
summary
