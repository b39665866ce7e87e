#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# Runs every cargo-fuzz target (or the named ones) for SECONDS each (default 60), one after the
# other, on the optimised build (`-O`, the one fuzz/README.md describes), from the corpus grown by
# earlier runs (fuzz/corpus/<target>/, ignored by git) plus the seeds (fuzz/corpus/seeds/<target>/).
# Prints libFuzzer's final figures per target; exits non-zero if a target crashed (the input is
# in fuzz/artifacts/<target>/: see fuzz/README.md).
#
# cargo-fuzz needs nightly compiler features: `cargo +nightly` when rustup has a nightly
# toolchain, else the default toolchain with RUSTC_BOOTSTRAP=1.
set -euo pipefail
SECS=${1:-60}
shift || true
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
if command -v rustup >/dev/null && rustup run nightly rustc --version >/dev/null 2>&1; then
    FUZZ=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    FUZZ=(cargo fuzz)
fi
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${FUZZ[@]}" list)
fi
echo "== building ${targets[*]} (${FUZZ[*]} build -O)"
"${FUZZ[@]}" build -O
failed=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    seeds=()
    [ -d "corpus/seeds/$t" ] && seeds=("corpus/seeds/$t")
    echo "== fuzz $t for ${SECS}s"
    status=0
    "${FUZZ[@]}" run -O "$t" "corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$SECS" -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E "^(stat::|#[0-9]+.*DONE|==[0-9]+== ?ERROR|SUMMARY)" "$log" || true
    echo "corpus/$t: $(find "corpus/$t" -type f | wc -l) files"
    if [ "$status" -ne 0 ]; then
        echo "!! $t failed (exit $status):"
        tail -n 40 "$log"
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "== failed: ${failed[*]} (crash inputs in fuzz/artifacts/<target>/)"
    exit 1
fi
echo "== no crash in ${targets[*]}"
