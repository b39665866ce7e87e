#!/usr/bin/env bash
# Export rules with the Linux kernel client (QEMU guest, tests/vm/exports-guest.sh). Through
# QEMU's user network the guest's calls reach the server from 127.0.0.1 and from unprivileged
# ports, so the rules name 127.0.0.1 and say `insecure`. Two boots of the guest on one store:
#   1. no rules (loopback only, no_root_squash): makes /ro (with a file) and /pub, where everyone
#      may create files (1777);
#   2. the server restarted with rules: root_squash on /pub, ro on /ro, / for another host only.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
find_nfsvm || exit 1
work=$(mktemp -d)
trap 'stop_server; if [ -n "${EXPORTS_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi' EXIT

start_server "$work" --storage "file://$work/data" || { fail "server starts"; summary; exit 1; }
"$RUN" --quiet --port "$PORT" --timeout 300 -- - >"$work/vm1.out" 2>&1 <<'GUEST'
mkdir ro pub && echo hello > ro/f && chmod 1777 pub && echo SETUP-DONE
GUEST
grep -q SETUP-DONE "$work/vm1.out" && pass "guest set up the directories without rules" \
    || { fail "guest setup"; tail -30 "$work/vm1.out"; }
stop_server || fail "clean stop"

cat >"$work/exports" <<'RULES'
/pub  127.0.0.1(rw,root_squash,insecure)
/ro   127.0.0.1(ro,insecure)
/     192.0.2.1(rw)
RULES
PORT_OVERRIDE=$PORT start_server "$work" --storage "file://$work/data" --exports "$work/exports" \
    || { fail "server starts with rules"; summary; exit 1; }
"$RUN" --no-mount --port "$PORT" --timeout 300 \
    -- "$ROOT/tests/vm/exports-guest.sh" "$PORT" >"$work/vm2.out" 2>"$work/vm2.err"
grep -E '^(PASS|FAIL)' "$work/vm2.out" | sed 's/ / guest: /'
PASSED=$((PASSED + $(grep -c '^PASS' "$work/vm2.out")))
FAILED=$((FAILED + $(grep -c '^FAIL' "$work/vm2.out")))
[ "$(grep -c '^PASS' "$work/vm2.out")" -ge 14 ] || { fail "guest ran every check"; tail -30 "$work/vm2.err"; }
grep -q 'refused MNT "/" from 127.0.0.1' "$work/server.log" \
    && pass "the refused MNT is logged with the peer" || fail "the refused MNT is logged"
stop_server || fail "clean stop with rules"
summary
