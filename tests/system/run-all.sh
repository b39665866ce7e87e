#!/usr/bin/env bash
# System tests of the release binary with real clients. Each part prints PASS/FAIL lines and its
# own 'N passed, N failed'; this prints the grand total and fails if any part failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
parts=(config-errors.sh lifecycle.sh fencing.sh fsck.sh replica.sh libnfs.sh s3.sh metrics.sh rpcbind.sh locks.sh exports.sh snapshots.sh crash-campaign.sh crash-campaign-s3.sh fault-campaign.sh kernel-client.sh)
[ -n "${SYSTEM_PARTS:-}" ] && read -r -a parts <<<"$SYSTEM_PARTS"
total_pass=0; total_fail=0; failed_parts=()
for part in "${parts[@]}"; do
    echo "=== system: $part"
    start=$(date +%s)
    out=$(mktemp)
    bash "$HERE/$part" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    p=$(grep -E '^(PASS|ok [0-9])' "$out" | wc -l)
    f=$(grep -E '^(FAIL|not ok [0-9])' "$out" | wc -l)
    rm -f "$out"
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    if [ "$rc" -ne 0 ]; then
        failed_parts+=("$part(exit $rc)")
        [ "$f" -eq 0 ] && total_fail=$((total_fail + 1))
    fi
    echo "=== system: $part done in $(( $(date +%s) - start )) s (exit $rc)"
done
[ ${#failed_parts[@]} -gt 0 ] && echo "system: failed parts: ${failed_parts[*]}"
echo "system: $total_pass passed, $total_fail failed"
[ ${#failed_parts[@]} -eq 0 ]
