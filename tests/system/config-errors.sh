#!/usr/bin/env bash
# Every configuration mistake gives one clear line naming the variable or flag, and exit != 0.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# expect_error DESC PATTERN ENV... -- ARGS...
expect_error() {
    local desc=$1 pattern=$2; shift 2
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
    local out rc
    out=$(env -i PATH="$PATH" HOME="$HOME" "${envs[@]}" timeout 60 "$BIN" serve "$@" 2>&1 </dev/null)
    rc=$?
    local lines; lines=$(printf '%s\n' "$out" | grep -c '^slatenfs: ')
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && printf '%s' "$out" | grep -q -- "$pattern" && [ "$lines" -eq 1 ]; then
        pass "$desc: $(printf '%s' "$out" | grep '^slatenfs: ')"
    else
        fail "$desc (exit $rc, wanted one line matching '$pattern'): $out"
    fi
}
port=$(free_port)
ok_env=(SLATEDB_CACHE_DIR="$work/cache" SLATEDB_CACHE_SIZE_GB=1)
expect_error "missing SLATEDB_CACHE_DIR" "SLATEDB_CACHE_DIR" SLATEDB_CACHE_SIZE_GB=1 -- --listen 127.0.0.1:$port --storage "file://$work/d"
expect_error "missing SLATEDB_CACHE_SIZE_GB" "SLATEDB_CACHE_SIZE_GB" SLATEDB_CACHE_DIR="$work/c" -- --listen 127.0.0.1:$port
expect_error "non-numeric SLATEDB_CACHE_SIZE_GB" "SLATEDB_CACHE_SIZE_GB must be a positive number" SLATEDB_CACHE_DIR="$work/c" SLATEDB_CACHE_SIZE_GB=lots -- --listen 127.0.0.1:$port
expect_error "zero SLATEDB_CACHE_SIZE_GB" "SLATEDB_CACHE_SIZE_GB must be a positive number" SLATEDB_CACHE_DIR="$work/c" SLATEDB_CACHE_SIZE_GB=0 -- --listen 127.0.0.1:$port
expect_error "negative SLATEDB_CACHE_SIZE_GB" "SLATEDB_CACHE_SIZE_GB must be a positive number" SLATEDB_CACHE_DIR="$work/c" SLATEDB_CACHE_SIZE_GB=-3 -- --listen 127.0.0.1:$port
expect_error "bad AWS_ALLOW_HTTP" "AWS_ALLOW_HTTP" "${ok_env[@]}" AWS_ALLOW_HTTP=maybe -- --listen 127.0.0.1:$port
expect_error "bad --listen" "\-\-listen" "${ok_env[@]}" -- --listen nonsense
expect_error "bad --storage" "\-\-storage" "${ok_env[@]}" -- --listen 127.0.0.1:$port --storage ftp://x
expect_error "bad --grace-period" "\-\-grace-period" "${ok_env[@]}" -- --listen 127.0.0.1:$port --grace-period soon
expect_error "bad SLATENFS_ANON_UID" "SLATENFS_ANON_UID must be a numeric id" "${ok_env[@]}" SLATENFS_ANON_UID=nobody -- --listen 127.0.0.1:$port
expect_error "bad --metrics-listen" "\-\-metrics-listen" "${ok_env[@]}" -- --listen 127.0.0.1:$port --metrics-listen 9100
expect_error "bad --store-wait" "\-\-store-wait must be" "${ok_env[@]}" -- --listen 127.0.0.1:$port --store-wait soon
expect_error "bad --rpcbind" "\-\-rpcbind" "${ok_env[@]}" -- --listen 127.0.0.1:$port --rpcbind maybe
mkdir -p "$work/ro"; touch "$work/ro/file"
expect_error "cache dir not writable" "SLATEDB_CACHE_DIR" SLATEDB_CACHE_DIR="$work/ro/file/sub" SLATEDB_CACHE_SIZE_GB=1 -- --listen 127.0.0.1:$port --storage "file://$work/d"
# An S3 endpoint where nothing listens.
dead=$(free_port)
expect_error "unreachable endpoint" "AWS_ENDPOINT_URL" "${ok_env[@]}" AWS_ENDPOINT_URL=http://127.0.0.1:$dead AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y -- --listen 127.0.0.1:$port --rpcbind off
# Export rules: none while listening beyond loopback, an unknown option, a missing file.
expect_error "non-loopback --listen without export rules" "\-\-export '/ 192.168.1.0/24(rw)'" "${ok_env[@]}" -- --listen 0.0.0.0:$port --storage "file://$work/d"
expect_error "unknown export option" 'unknown option "rx"' "${ok_env[@]}" -- --listen 127.0.0.1:$port --storage "file://$work/d" --export '/ 10.0.0.0/8(rx)'
expect_error "missing --exports file" "\-\-exports $work/no-such-file" "${ok_env[@]}" -- --listen 127.0.0.1:$port --storage "file://$work/d" --exports "$work/no-such-file"
expect_error "bad --max-connections" "\-\-max-connections" "${ok_env[@]}" -- --listen 127.0.0.1:$port --max-connections 0
expect_error "bad SLATENFS_READ_ONLY" "SLATENFS_READ_ONLY must be true or false" "${ok_env[@]}" SLATENFS_READ_ONLY=yes -- --listen 127.0.0.1:$port
expect_error "bad --replica-poll" "\-\-replica-poll must be a positive number" "${ok_env[@]}" -- --listen 127.0.0.1:$port --read-only --replica-poll 0
# A port somebody else holds.
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(60)' "$port" &
holder=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
expect_error "port in use" "\-\-listen 127.0.0.1:$port" "${ok_env[@]}" -- --listen 127.0.0.1:$port --storage "file://$work/d"
kill $holder 2>/dev/null; wait $holder 2>/dev/null

# --version and serve --help: complete (every variable and flag of the README is documented).
"$BIN" --version | grep -qE '^slatenfs [0-9]+\.[0-9]+\.[0-9]+' && pass "--version" || fail "--version"
help=$("$BIN" serve --help)
missing=()
for word in SLATEDB_CACHE_DIR SLATEDB_CACHE_SIZE_GB SLATENFS_STORAGE AWS_ENDPOINT_URL AWS_S3_BUCKET \
    AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_ALLOW_HTTP RUST_LOG \
    SLATENFS_GRACE_PERIOD --listen --storage --cache-dir --cache-size-gb --cores --async --anon-uid \
    --anon-gid --no-lock-manager --grace-period --rpcbind --object-store-timeout \
    --object-store-retries --store-wait SLATENFS_OBJECT_STORE_TIMEOUT SLATENFS_STORE_WAIT \
    --metrics-listen SLATENFS_ANON_UID SLATENFS_ANON_GID SLATENFS_EXPORTS --exports --export --max-connections --idle-timeout \
    --record-timeout --write-timeout --drain-timeout mountport \
    --read-only SLATENFS_READ_ONLY --replica-poll SLATENFS_REPLICA_POLL; do
    grep -q -- "$word" <<<"$help" || missing+=("$word")
done
[ ${#missing[@]} -eq 0 ] && pass "serve --help documents every setting" || fail "serve --help lacks: ${missing[*]}"
summary
