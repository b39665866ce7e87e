#!/usr/bin/env bash
# Two servers on one file:// location: the second one's open fences the first, which learns it
# (at its next write or manifest poll), stops serving at once, logs one line and exits with 3.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
first_pid=
trap 'kill -9 $first_pid 2>/dev/null; stop_server; rm -rf "$work"' EXIT
url() { echo "nfs://127.0.0.1//$1?version=3&nfsport=$2&mountport=$2"; }
store=(--storage "file://$work/data")

printf 'written through the first server\n' >"$work/x"
printf 'written through the second server\n' >"$work/y"
mkdir -p "$work/a" "$work/b"
start_server "$work/a" "${store[@]}" || { fail "first server starts"; summary; exit 1; }
first_pid=$SERVER_PID first_port=$PORT
check "write f through the first server" nfs-cp "$work/x" "$(url f "$first_port")"
check "the first server reads f back" cmp <(nfs-cat "$(url f "$first_port")") "$work/x"

SERVER_PID=
start_server "$work/b" "${store[@]}" || { fail "second server starts"; summary; exit 1; }
pass "second server starts on the same storage"
second_port=$PORT
check "write g through the second server" nfs-cp "$work/y" "$(url g "$second_port")"

exited=
for _ in $(seq 1 300); do
    if ! kill -0 "$first_pid" 2>/dev/null; then exited=1; break; fi
    sleep 0.1
done
wait "$first_pid" 2>/dev/null; rc=$?
if [ -n "$exited" ] && [ "$rc" -eq 3 ]; then
    pass "the first server exits with status 3 once fenced"
else
    fail "the first server exits with status 3 once fenced (exited: ${exited:-no}, status $rc)"
fi
first_pid=
n=$(grep -c "fenced: another slatenfs server opened" "$work/a/server.log")
[ "$n" -eq 1 ] && pass "one log line says it was fenced: $(grep -o 'fenced: .*' "$work/a/server.log")" \
    || fail "one log line says it was fenced (found $n)"
# (That a fenced server answers nothing, not even from its caches, from the moment it learns
# it is fenced, is tests/nfs_wire.rs a_fenced_server_answers_nothing_not_even_from_its_caches.)
got=$(timeout 10 nfs-cat "$(url f "$first_port")" 2>/dev/null)
[ -z "$got" ] && pass "the fenced server serves nothing" || fail "the fenced server still serves f"
check "the second server serves f" cmp <(nfs-cat "$(url f "$second_port")") "$work/x"
check "the second server serves g" cmp <(nfs-cat "$(url g "$second_port")") "$work/y"
check "SIGTERM stops the second server with 0" stop_server
summary
