# Helpers for the system tests: start/stop the release server on a free loopback port.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SLATENFS_BIN:-$ROOT/target/release/slatenfs}
PASSED=0
FAILED=0

pass() { echo "PASS $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
check() { # check DESCRIPTION COMMAND...
    local desc=$1; shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server WORKDIR [extra serve args...]: sets SERVER_PID and PORT, waits until it listens.
# LISTEN_IP (default 127.0.0.1) and PORT_OVERRIDE choose the address; RPCBIND_MODE (default
# off) is --rpcbind: tests beside other engineers' must not take the host's port 111. A free
# port another process took between free_port and the bind is given up for another one.
start_server() {
    local attempt
    for attempt in 1 2 3; do
        start_server_once "$@" && return 0
        [ -z "${PORT_OVERRIDE:-}" ] && [ "$attempt" -lt 3 ] \
            && tail -1 "$1/server.log" | grep -q "another server may be using the port" || return 1
        echo "port $PORT was taken meanwhile; another one"
    done
}

start_server_once() {
    local work=$1; shift
    PORT=${PORT_OVERRIDE:-$(free_port)}
    local ip=${LISTEN_IP:-127.0.0.1}
    mkdir -p "$work/cache"
    # Listening is not enough: right after a kill -9 the dead server's listener may still accept
    # for a moment; wait for this server's own "serving with" line too.
    local served; served=$(grep -c "serving with" "$work/server.log" 2>/dev/null)
    SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=${CACHE_GB:-1} RUST_LOG=${RUST_LOG:-info} \
        "$BIN" serve --listen "$ip:$PORT" --rpcbind "${RPCBIND_MODE:-off}" "$@" >>"$work/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 600); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited early; log:"; tail -20 "$work/server.log"; return 1
        fi
        if [ "$(grep -c "serving with" "$work/server.log" 2>/dev/null)" -gt "${served:-0}" ] \
            && (exec 3<>"/dev/tcp/$ip/$PORT") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server did not start listening; log:"; tail -20 "$work/server.log"; return 1
}

# stop_server: SIGTERM, expect a clean exit 0 within 60 s.
stop_server() {
    [ -n "${SERVER_PID:-}" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local rc=0
    for _ in $(seq 1 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "server ignored SIGTERM for 60 s; killing"; kill -9 "$SERVER_PID"; rc=1
    fi
    wait "$SERVER_PID" 2>/dev/null || rc=$?
    SERVER_PID=
    return $rc
}

kill9_server() {
    [ -n "${SERVER_PID:-}" ] || return 0
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# restart_at_once WORKDIR [serve args...]: after kill9_server, starts the server again on the same
# port without waiting, and fails if it is not listening within RESTART_LIMIT seconds (the dead
# server's connections linger in FIN_WAIT/TIME_WAIT for a minute; they must not keep the port).
# Sets RESTART_MS.
RESTART_LIMIT=${RESTART_LIMIT:-15}
restart_at_once() {
    local t0 rc
    t0=$(date +%s%N)
    PORT_OVERRIDE=$PORT start_server "$@"; rc=$?
    RESTART_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ $rc -eq 0 ] || return 1
    if [ "$RESTART_MS" -gt $((RESTART_LIMIT * 1000)) ]; then
        echo "restart took ${RESTART_MS} ms (limit ${RESTART_LIMIT} s)"; return 1
    fi
}

# start_moto WORKDIR BUCKET: moto's S3 server on a free loopback port with BUCKET made, and the
# AWS_* variables that select it exported. Sets MOTO_PID (stop it with kill).
start_moto() {
    local work=$1 bucket=$2 mport
    command -v moto_server >/dev/null || { echo "moto_server is not installed (make deps)"; return 1; }
    mport=$(free_port)
    moto_server -H 127.0.0.1 -p "$mport" >"$work/moto.log" 2>&1 &
    MOTO_PID=$!
    for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$mport/" >/dev/null && break; sleep 0.2; done
    curl -sf -X PUT "http://127.0.0.1:$mport/$bucket" -o /dev/null || { echo "cannot make bucket $bucket"; return 1; }
    export AWS_ENDPOINT_URL=http://127.0.0.1:$mport AWS_S3_BUCKET=$bucket AWS_ACCESS_KEY_ID=testing \
           AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_ALLOW_HTTP=true
}

# campaign_storage WORKDIR BUCKET: the `serve` storage arguments of CAMPAIGN_STORAGE (file, the
# default: a directory under WORKDIR; s3: moto's S3 server with BUCKET, selected through the
# AWS_* variables start_moto exports) in the array STORE_ARGS.
campaign_storage() {
    case ${CAMPAIGN_STORAGE:-file} in
        file) STORE_ARGS=(--storage "file://$1/data") ;;
        s3) start_moto "$1" "$2" || return 1
            STORE_ARGS=() ;;
        *) echo "CAMPAIGN_STORAGE must be file or s3"; return 1 ;;
    esac
}

# find_nfsvm: the nfs-vm harness in RUN (NFSVM_RUN, else ../shared/nfs-vm/run beside the
# checkout or one level further up, for a worktree), or a FAIL line and status 1.
find_nfsvm() {
    RUN=${NFSVM_RUN:-}
    local cand
    for cand in "$ROOT/../shared/nfs-vm/run" "$ROOT/../../shared/nfs-vm/run"; do
        [ -z "$RUN" ] && [ -x "$cand" ] && RUN=$cand
    done
    [ -x "$RUN" ] || { echo "FAIL nfs-vm harness not found (set NFSVM_RUN)"; return 1; }
}

# nfsvm_fetch_kernel: makes sure the harness has its guest kernel, which it downloads on first
# use: a part that runs the guest inside a network namespace calls this before entering it.
nfsvm_fetch_kernel() {
    local cache=${NFSVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nfs-vm} ready
    for ready in "$cache"/linux-image-*/.ready; do
        [ -f "$ready" ] && return 0
    done
    echo "nfs-vm: fetching the guest kernel (first use on this machine)"
    "$RUN" --no-mount --timeout 600 -- - <<<'true' >/dev/null
}

summary() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
