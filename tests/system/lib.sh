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
# off) is --rpcbind: tests beside other engineers' must not take the host's port 111.
start_server() {
    local work=$1; shift
    PORT=${PORT_OVERRIDE:-$(free_port)}
    local ip=${LISTEN_IP:-127.0.0.1}
    mkdir -p "$work/cache"
    SLATEDB_CACHE_DIR=$work/cache SLATEDB_CACHE_SIZE_GB=${CACHE_GB:-1} RUST_LOG=${RUST_LOG:-info} \
        "$BIN" serve --listen "$ip:$PORT" --rpcbind "${RPCBIND_MODE:-off}" "$@" >>"$work/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited early; log:"; tail -20 "$work/server.log"; return 1
        fi
        if (exec 3<>"/dev/tcp/$ip/$PORT") 2>/dev/null; then return 0; fi
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

summary() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
