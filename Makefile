# slatenfs — two commands on a fresh Debian machine:
#   make run    build and serve a filesystem on the embedded local-disk store
#   make test   install what the tests need, then run the whole suite
SHELL := /bin/bash
CARGO ?= cargo
PORT ?= 2049
LISTEN ?= 127.0.0.1:$(PORT)
DATA ?= $(CURDIR)/.slatenfs
CACHE_SIZE_GB ?= 4
FUZZ_SECONDS ?= 60
BIN := target/release/slatenfs
# Tests build with the `ci` profile (Cargo.toml: release without LTO); the system tests run the
# slatenfs binary that `cargo test` builds for the integration tests.
TEST_PROFILE ?= ci
TEST_BIN := $(CURDIR)/target/$(TEST_PROFILE)/slatenfs

.PHONY: all run build test test-unit test-system soak deps bench bench-compare fuzz fmt lint clean

all: build

build:
	$(CARGO) build --release

## run: serve ./.slatenfs/data (embedded local-disk object store) on $(LISTEN)
run: build
	@mkdir -p $(DATA)/cache
	@echo "slatenfs: serving on $(LISTEN); data in $(DATA)/data, cache in $(DATA)/cache"
	@echo "slatenfs: mount with:  mount -t nfs -o vers=3,tcp,port=$(PORT),mountport=$(PORT),soft $(firstword $(subst :, ,$(LISTEN))):/ /mnt"
	@echo "slatenfs:   (macOS:   mount -t nfs -o nolocks,vers=3,tcp,port=$(PORT),mountport=$(PORT),soft $(firstword $(subst :, ,$(LISTEN))):/ /mnt)"
	SLATEDB_CACHE_DIR="$${SLATEDB_CACHE_DIR:-$(DATA)/cache}" \
	SLATEDB_CACHE_SIZE_GB="$${SLATEDB_CACHE_SIZE_GB:-$(CACHE_SIZE_GB)}" \
	RUST_LOG="$${RUST_LOG:-info}" \
	$(BIN) serve --listen $(LISTEN) $${SLATENFS_STORAGE:+--storage $$SLATENFS_STORAGE} \
		$$( [ -n "$${AWS_ENDPOINT_URL}$${AWS_ACCESS_KEY_ID}$${SLATENFS_STORAGE}" ] || echo --storage file://$(DATA)/data )

## deps: install system packages and tools the tests use (idempotent)
deps:
	scripts/install-deps.sh

## test: everything — unit, property, integration, kernel-client (VM), libnfs, S3 (moto), crash
test: deps test-unit
	SLATENFS_BIN=$(TEST_BIN) tests/system/run-all.sh

test-unit:
	$(CARGO) test --profile $(TEST_PROFILE) --all-targets

test-system:
	$(CARGO) build --profile $(TEST_PROFILE) --bins
	SLATENFS_BIN=$(TEST_BIN) tests/system/run-all.sh

## soak: the long campaigns of which `make test` runs a short seeded slice: the crash campaign
## (kill -9 at random moments, fsck, restart at once, nothing acknowledged lost) on a local
## directory and on S3 (moto) with fresh seeds, the fault campaign for minutes instead of 20 s
## (on S3 with lost replies too), the lock tests with bigger concurrent parts, and
## the in-process crash points at every PUT boundary instead of a spread of them.
SOAK_KILLS ?= 50
soak: deps
	$(CARGO) build --profile $(TEST_PROFILE) --bins
	SLATENFS_BIN=$(TEST_BIN) KILLS=$(SOAK_KILLS) SEED=$$(date +%s) CAMPAIGN_STORAGE=file tests/system/crash-campaign.sh
	SLATENFS_BIN=$(TEST_BIN) KILLS=$$(( $(SOAK_KILLS) / 3 + 1 )) SEED=$$(date +%s) CAMPAIGN_STORAGE=s3 tests/system/crash-campaign.sh
	SLATENFS_BIN=$(TEST_BIN) ROUND_SECONDS=180 CAMPAIGN_STORAGE=file tests/system/fault-campaign.sh
	SLATENFS_BIN=$(TEST_BIN) ROUND_SECONDS=60 CAMPAIGN_STORAGE=s3 tests/system/fault-campaign.sh
	SLATENFS_BIN=$(TEST_BIN) LOCKS_SOAK=1 tests/system/locks.sh
	CRASH_POINTS_MAX=0 $(CARGO) test --profile $(TEST_PROFILE) --test crash_points -- --nocapture

bench:
	$(CARGO) bench

bench-compare: build deps
	scripts/bench-compare.sh

fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf fuzz/target
