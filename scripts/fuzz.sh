#!/usr/bin/env bash
# Runs every cargo-fuzz target for N seconds (default 60) from the seed corpus.
# cargo-fuzz needs nightly features; on a stable toolchain RUSTC_BOOTSTRAP=1 enables them.
set -euo pipefail
SECS=${1:-60}
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
export RUSTC_BOOTSTRAP=1
for t in $(cargo fuzz list); do
    mkdir -p "corpus/$t"
    seeds=()
    [ -d "corpus/seeds/$t" ] && seeds=("corpus/seeds/$t")
    echo "== fuzz $t for ${SECS}s"
    cargo fuzz run "$t" "corpus/$t" "${seeds[@]}" -- -max_total_time="$SECS" -print_final_stats=1 2>&1 \
        | grep -E "^(stat::|#[0-9]+.*DONE|==[0-9]+== ERROR|SUMMARY)" || true
done
